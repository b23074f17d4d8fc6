// The version every binary and report carries.
#ifndef LOADTEST_CLI_VERSION_H_
#define LOADTEST_CLI_VERSION_H_

namespace loadtest::cli {
inline constexpr char kVersion[] = "0.1.0";
}  // namespace loadtest::cli

#endif  // LOADTEST_CLI_VERSION_H_
