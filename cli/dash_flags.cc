#include "cli/dash_flags.h"

#include <algorithm>

namespace loadtest::cli {

std::vector<char*> NormalizeFlagNames(int argc, char** argv,
                                      std::vector<std::string>* storage) {
  storage->assign(argv, argv + argc);
  bool after_terminator = false;
  for (size_t i = 1; i < storage->size(); ++i) {
    std::string& arg = (*storage)[i];
    if (after_terminator || arg.size() < 2 || arg[0] != '-') continue;
    if (arg == "--") {
      after_terminator = true;
      continue;
    }
    const size_t name_start = arg[1] == '-' ? 2 : 1;
    const size_t name_end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + name_start, arg.begin() + name_end, '-', '_');
  }
  std::vector<char*> result;
  for (std::string& arg : *storage) result.push_back(arg.data());
  return result;
}

}  // namespace loadtest::cli
