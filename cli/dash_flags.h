// Lets users spell flags as the original Go tool does (`-batch-size=100`,
// `--batch-size 100`) while the binaries define them with Abseil, whose flag
// names use underscores. Stateless; safe from any thread.
#ifndef LOADTEST_CLI_DASH_FLAGS_H_
#define LOADTEST_CLI_DASH_FLAGS_H_

#include <string>
#include <vector>

namespace loadtest::cli {

// Returns argv with every flag name's dashes turned into underscores
// (`--batch-size=5` → `--batch_size=5`, `-write-rate` → `-write_rate`).
// Values, positional arguments and everything after `--` are left alone.
// The returned pointers point into `*storage`, which must outlive them.
std::vector<char*> NormalizeFlagNames(int argc, char** argv,
                                      std::vector<std::string>* storage);

}  // namespace loadtest::cli

#endif  // LOADTEST_CLI_DASH_FLAGS_H_
