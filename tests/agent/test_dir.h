// A temporary directory for one test, removed with everything in it.
#ifndef LOADTEST_TESTS_AGENT_TEST_DIR_H_
#define LOADTEST_TESTS_AGENT_TEST_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace loadtest::agent {

class TestDir {
 public:
  TestDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "agenttest.XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TestDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace loadtest::agent

#endif  // LOADTEST_TESTS_AGENT_TEST_DIR_H_
