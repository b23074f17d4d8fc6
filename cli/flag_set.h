// FlagSet: the command-line flags of one binary, spelled as the original Go
// tool (Go's `flag` package) spells them: `-name=value`, `--name=value`,
// `-name value`, `--name value`; booleans as `-name`, `--name` or
// `-name=true|false`; `--` ends the flags. Flags and positional arguments may
// be interleaved. Each binary's main() owns one FlagSet; libraries never see
// it (they take options structs).
//
// Thread-safety: none. One thread registers the flags, calls Parse once and
// then reads IsSet / help_requested / Usage.
#ifndef LOADTEST_CLI_FLAG_SET_H_
#define LOADTEST_CLI_FLAG_SET_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "duration/duration.h"

namespace loadtest::cli {

// Durations, as duration/duration.h parses and formats them, also under
// cli:: for the code that reads and words flags.
using duration::FormatDuration;
using duration::ParseDuration;

class FlagSet {
 public:
  // `program` is the binary's name, for callers that prefix messages with it.
  // `intro` is printed verbatim at the top of Usage(); it should say what the
  // program does and show its synopsis.
  FlagSet(std::string program, std::string intro);

  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  // Starts a group titled `title` in Usage(); the flags registered after this
  // call belong to it. Flags registered before any section are listed first
  // under "Flags:".
  void AddSection(std::string title);

  // Registers the flag `-name`. `name` is spelled with dashes ("batch-size"),
  // without leading dashes. The target's value at registration is the
  // default shown in Usage(); Parse overwrites it only when the flag is given.
  // The target is borrowed and must outlive the FlagSet.
  //
  // Registering a name twice, an empty name, a name starting with '-' or
  // containing '=', or the reserved "h" / "help" is a programming error: the
  // process aborts with a message.
  void AddInt(std::string name, int64_t* target, std::string help);
  void AddInt(std::string name, int* target, std::string help);
  void AddDouble(std::string name, double* target, std::string help);
  void AddDuration(std::string name, std::chrono::nanoseconds* target,
                   std::string help);
  void AddString(std::string name, std::string* target, std::string help);
  // A repeatable string flag: each occurrence appends its value; the first
  // one replaces whatever `*target` held.
  void AddStringList(std::string name, std::vector<std::string>* target,
                     std::string help);
  void AddBool(std::string name, bool* target, std::string help);

  // Parses argv[1..argc) and, when every argument is valid, stores the given
  // flag values in their targets, records them for IsSet and appends the
  // positional arguments (in order) to `*positional`. All or nothing: on
  // error nothing is stored or appended.
  //
  // As in Go, a non-boolean flag without `=value` takes the next argument as
  // its value, whatever it looks like (`-seconds -5`, even `-db --`), and a
  // boolean flag never takes the next argument (`-fresh false` sets fresh and
  // leaves "false" positional). Everything after `--`, a lone `-` and
  // anything not starting with `-` is positional. When a flag is given twice
  // the last value wins.
  //
  // `-h`, `-help`, `--h` or `--help` anywhere before `--`: help_requested()
  // becomes true and Parse returns OK without storing anything, whatever
  // else is on the command line (so `--help` always shows help).
  //
  // Errors are InvalidArgument with a one-line message naming the flag and
  // the value; the first error on the command line is reported:
  //   unknown flag -foo (see --help)     (the dashes as the user typed them)
  //   unknown flag --batch_size (did you mean --batch-size?)
  //   flag -writers needs a value
  //   flag -writers: "abc" is not an integer
  //   flag -writers: "3000000000" is out of range (must be between
  //     -2147483648 and 2147483647)
  //   flag -write-rate: "x" is not a number
  //   flag -duration: "5x" is not a duration (use e.g. 300ms, 10s, 1m30s)
  //   flag -fresh: "maybe" is not a boolean
  //   bad flag syntax: "---x"
  // Integers are decimal with an optional sign; booleans are Go's 1, t, T,
  // TRUE, true, True, 0, f, F, FALSE, false, False; numbers must be finite.
  //
  // Call once: a second call is a programming error and aborts. `positional`
  // must not be null.
  absl::Status Parse(int argc, const char* const* argv,
                     std::vector<std::string>* positional);

  // The command line of a program that takes only flags, handled the same
  // way by every binary: Parse, then
  //   an error, or a positional argument: "PROGRAM: MESSAGE" (or
  //     `unexpected argument "X" (see --help)`) on stderr, returns 1;
  //   --help: Usage() on stdout, returns 0;
  //   otherwise nullopt: go on.
  std::optional<int> ParseCommandLine(int argc, const char* const* argv);

  // True when the flag `name` was given on the command line by a successful
  // Parse (even when given its default value). `name` must be registered;
  // asking about an unknown name is a programming error and aborts.
  bool IsSet(absl::string_view name) const;

  // True when Parse saw -h, -help, --h or --help (before any `--`).
  bool help_requested() const { return help_requested_; }

  const std::string& program() const { return program_; }

  // The help text: the intro, then each section's flags as
  // "  -name=<int>   help (default: 100)" with the help column aligned and
  // wrapped at 80 columns, then a line on the accepted syntax. Defaults are
  // the values at registration: durations as FormatDuration, strings quoted
  // (omitted when empty), booleans shown only when true.
  std::string Usage() const;

 private:
  using Target =
      std::variant<int64_t*, int*, double*, std::chrono::nanoseconds*,
                   std::string*, bool*, std::vector<std::string>*>;
  using Value = std::variant<int64_t, double, std::chrono::nanoseconds,
                             std::string, bool>;

  struct Flag {
    std::string name;
    Target target;
    std::string help;
    std::string default_text;  // Empty: no "(default: ...)" in Usage().
    size_t section;            // Index into sections_.
    bool set = false;
  };

  void Add(std::string name, Target target, std::string help,
           std::string default_text);
  const Flag* Find(absl::string_view name) const;
  // Converts `text` for `flag`; InvalidArgument with the full message.
  static absl::StatusOr<Value> ParseValue(const Flag& flag,
                                          absl::string_view text);
  static bool IsBool(const Flag& flag);

  const std::string program_;
  const std::string intro_;
  std::vector<std::string> sections_;  // sections_[0] is the untitled group.
  std::vector<Flag> flags_;            // In registration order.
  std::map<std::string, size_t, std::less<>> index_;  // name -> flags_ index.
  bool parsed_ = false;
  bool help_requested_ = false;
};

}  // namespace loadtest::cli

#endif  // LOADTEST_CLI_FLAG_SET_H_
