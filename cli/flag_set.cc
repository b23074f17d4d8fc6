#include "cli/flag_set.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "duration/duration.h"

namespace loadtest::cli {
namespace {

constexpr size_t kUsageWidth = 80;
constexpr size_t kMaxHelpColumn = 32;  // Longer flag names get their own line.

// A misuse of the API by the program itself, not bad user input.
[[noreturn]] void Die(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s: FlagSet misuse: %s\n", program.c_str(),
               message.c_str());
  std::abort();
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Greedy word wrap of `text` into lines of at most `width` characters (a
// longer word gets a line of its own). '\n' in `text` forces a break.
std::vector<std::string> Wrap(absl::string_view text, size_t width) {
  std::vector<std::string> lines;
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    std::string line;
    for (absl::string_view word :
         absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        lines.push_back(std::move(line));
        line.clear();
      }
      if (!line.empty()) line += ' ';
      absl::StrAppend(&line, word);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// Go's strconv.ParseBool.
bool ParseGoBool(absl::string_view text, bool* out) {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" ||
      text == "true" || text == "True") {
    *out = true;
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" ||
      text == "false" || text == "False") {
    *out = false;
    return true;
  }
  return false;
}

absl::Status ValueError(absl::string_view name, absl::string_view value,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("flag -", name, ": \"", value, "\" ", problem));
}

// A decimal integer with an optional sign, within [min, max].
absl::StatusOr<int64_t> ParseInteger(absl::string_view name,
                                     absl::string_view text, int64_t min,
                                     int64_t max) {
  absl::string_view digits = text;
  // std::from_chars takes '-' but not '+'; "+-5" must stay invalid.
  if (digits.size() > 1 && digits[0] == '+' && IsDigit(digits[1])) {
    digits.remove_prefix(1);
  }
  const std::string range =
      absl::StrCat("is out of range (must be between ", min, " and ", max, ")");
  int64_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    return ValueError(name, text, range);
  }
  if (digits.empty() || ec != std::errc() || ptr != end) {
    return ValueError(name, text, "is not an integer");
  }
  if (value < min || value > max) return ValueError(name, text, range);
  return value;
}

absl::StatusOr<double> ParseNumber(absl::string_view name,
                                   absl::string_view text) {
  absl::string_view digits = text;
  if (digits.size() > 1 && digits[0] == '+' &&
      (IsDigit(digits[1]) || digits[1] == '.')) {
    digits.remove_prefix(1);
  }
  double value = 0;
  const char* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    return ValueError(name, text, "is out of range");
  }
  if (digits.empty() || ec != std::errc() || ptr != end) {
    return ValueError(name, text, "is not a number");
  }
  if (!std::isfinite(value)) {
    return ValueError(name, text, "is not a finite number");
  }
  return value;
}

}  // namespace

FlagSet::FlagSet(std::string program, std::string intro)
    : program_(std::move(program)), intro_(std::move(intro)), sections_{""} {}

void FlagSet::AddSection(std::string title) {
  sections_.push_back(std::move(title));
}

void FlagSet::AddInt(std::string name, int64_t* target, std::string help) {
  Add(std::move(name), target, std::move(help), absl::StrCat(*target));
}

void FlagSet::AddInt(std::string name, int* target, std::string help) {
  Add(std::move(name), target, std::move(help), absl::StrCat(*target));
}

void FlagSet::AddDouble(std::string name, double* target, std::string help) {
  Add(std::move(name), target, std::move(help), absl::StrCat(*target));
}

void FlagSet::AddDuration(std::string name, std::chrono::nanoseconds* target,
                          std::string help) {
  Add(std::move(name), target, std::move(help), FormatDuration(*target));
}

void FlagSet::AddString(std::string name, std::string* target,
                        std::string help) {
  Add(std::move(name), target, std::move(help),
      target->empty() ? "" : absl::StrCat("\"", *target, "\""));
}

void FlagSet::AddStringList(std::string name,
                            std::vector<std::string>* target,
                            std::string help) {
  Add(std::move(name), target, absl::StrCat(help, " Repeatable."), "");
}

void FlagSet::AddBool(std::string name, bool* target, std::string help) {
  Add(std::move(name), target, std::move(help), *target ? "true" : "");
}

void FlagSet::Add(std::string name, Target target, std::string help,
                  std::string default_text) {
  if (name.empty() || name[0] == '-' || name.find('=') != std::string::npos) {
    Die(program_, absl::StrCat("bad flag name \"", name,
                               "\" (no leading dashes, no '=')"));
  }
  if (name == "h" || name == "help") {
    Die(program_, absl::StrCat("flag -", name, " is reserved for help"));
  }
  if (index_.count(name) > 0) {
    Die(program_, absl::StrCat("flag -", name, " registered twice"));
  }
  if (std::visit([](auto* p) { return p == nullptr; }, target)) {
    Die(program_, absl::StrCat("flag -", name, " has a null target"));
  }
  index_.emplace(name, flags_.size());
  flags_.push_back(Flag{std::move(name), target, std::move(help),
                        std::move(default_text), sections_.size() - 1});
}

const FlagSet::Flag* FlagSet::Find(absl::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &flags_[it->second];
}

bool FlagSet::IsBool(const Flag& flag) {
  return std::holds_alternative<bool*>(flag.target);
}

absl::StatusOr<FlagSet::Value> FlagSet::ParseValue(const Flag& flag,
                                                   absl::string_view text) {
  const std::string& name = flag.name;
  return std::visit(
      [&](auto* target) -> absl::StatusOr<Value> {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int>) {
          absl::StatusOr<int64_t> value =
              ParseInteger(name, text, std::numeric_limits<T>::min(),
                           std::numeric_limits<T>::max());
          if (!value.ok()) return value.status();
          return Value(*value);
        } else if constexpr (std::is_same_v<T, double>) {
          absl::StatusOr<double> value = ParseNumber(name, text);
          if (!value.ok()) return value.status();
          return Value(*value);
        } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
          int64_t ns = 0;
          std::string reason;
          bool out_of_range = false;
          if (!duration::ParseGoDuration(text, &ns, &reason, &out_of_range)) {
            if (out_of_range) {
              using std::chrono::nanoseconds;
              return ValueError(
                  name, text,
                  absl::StrCat("is out of range (must be between ",
                               FormatDuration(nanoseconds::min()), " and ",
                               FormatDuration(nanoseconds::max()), ")"));
            }
            return ValueError(name, text,
                              "is not a duration (use e.g. 300ms, 10s, 1m30s)");
          }
          return Value(std::chrono::nanoseconds(ns));
        } else if constexpr (std::is_same_v<T, std::string> ||
                             std::is_same_v<T, std::vector<std::string>>) {
          return Value(std::string(text));
        } else {
          static_assert(std::is_same_v<T, bool>);
          bool value = false;
          if (!ParseGoBool(text, &value)) {
            return ValueError(name, text, "is not a boolean");
          }
          return Value(value);
        }
      },
      flag.target);
}

std::optional<int> FlagSet::ParseCommandLine(int argc,
                                             const char* const* argv) {
  std::vector<std::string> positional;
  absl::Status status = Parse(argc, argv, &positional);
  if (status.ok() && help_requested_) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (status.ok() && !positional.empty()) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument \"", positional.front(), "\" (see --help)"));
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  return std::nullopt;
}

absl::Status FlagSet::Parse(int argc, const char* const* argv,
                            std::vector<std::string>* positional) {
  if (parsed_) Die(program_, "Parse called twice");
  parsed_ = true;

  // Values are converted as they come and stored only once the whole command
  // line is known to be valid (and not a request for help).
  std::vector<std::pair<size_t, Value>> assignments;  // flags_ index, value.
  std::vector<std::string> arguments;
  absl::Status first_error;
  auto fail = [&first_error](absl::Status status) {
    if (first_error.ok()) first_error = std::move(status);
  };

  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i] == nullptr ? "" : argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) {
        arguments.emplace_back(argv[i] == nullptr ? "" : argv[i]);
      }
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {  // Includes a lone "-".
      arguments.emplace_back(arg);
      continue;
    }
    const size_t dashes = arg[1] == '-' ? 2 : 1;
    const absl::string_view body = arg.substr(dashes);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      fail(absl::InvalidArgumentError(
          absl::StrCat("bad flag syntax: \"", arg, "\"")));
      continue;
    }
    const size_t equals = body.find('=');
    const absl::string_view name = body.substr(0, equals);
    const bool has_value = equals != absl::string_view::npos;
    if (name == "h" || name == "help") {
      help_requested_ = true;
      continue;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      // The Abseil-based binaries took `--batch_size`; point old habits at
      // the new spelling.
      const std::string dashed = absl::StrReplaceAll(name, {{"_", "-"}});
      const absl::string_view prefix = arg.substr(0, dashes);
      fail(absl::InvalidArgumentError(
          dashed != name && Find(dashed) != nullptr
              ? absl::StrCat("unknown flag ", prefix, name, " (did you mean ",
                             prefix, dashed, "?)")
              : absl::StrCat("unknown flag ", prefix, name, " (see --help)")));
      continue;
    }
    absl::string_view value;
    if (has_value) {
      value = body.substr(equals + 1);
    } else if (IsBool(*flag)) {
      value = "true";
    } else if (i + 1 < argc && argv[i + 1] != nullptr) {
      value = argv[++i];
    } else {
      fail(absl::InvalidArgumentError(
          absl::StrCat("flag -", flag->name, " needs a value")));
      continue;
    }
    absl::StatusOr<Value> parsed = ParseValue(*flag, value);
    if (!parsed.ok()) {
      fail(parsed.status());
      continue;
    }
    assignments.emplace_back(static_cast<size_t>(flag - flags_.data()),
                             *std::move(parsed));
  }

  if (help_requested_) return absl::OkStatus();
  if (!first_error.ok()) return first_error;

  // Not `auto& [index, value]`: C++17 lambdas cannot capture a structured
  // binding (clang refuses it).
  for (auto& assignment : assignments) {
    Flag& flag = flags_[assignment.first];
    Value& value = assignment.second;
    const bool first = !flag.set;
    flag.set = true;
    std::visit(
        [&value, first](auto* target) {
          using T = std::remove_pointer_t<decltype(target)>;
          if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            if (first) target->clear();
            target->push_back(std::get<std::string>(std::move(value)));
          } else if constexpr (std::is_same_v<T, int>) {
            // ParseInteger checked the range.
            *target = static_cast<int>(std::get<int64_t>(value));
          } else {
            *target = std::get<T>(std::move(value));
          }
        },
        flag.target);
  }
  for (std::string& argument : arguments) {
    positional->push_back(std::move(argument));
  }
  return absl::OkStatus();
}

bool FlagSet::IsSet(absl::string_view name) const {
  const Flag* flag = Find(name);
  if (flag == nullptr) {
    Die(program_, absl::StrCat("IsSet asked about unregistered flag -", name));
  }
  return flag->set;
}

std::string FlagSet::Usage() const {
  auto left_column = [](const Flag& flag) {
    const char* placeholder = std::visit(
        [](auto* target) {
          using T = std::remove_pointer_t<decltype(target)>;
          if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int>) {
            return "=<int>";
          } else if constexpr (std::is_same_v<T, double>) {
            return "=<number>";
          } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
            return "=<duration>";
          } else if constexpr (std::is_same_v<T, std::string> ||
                               std::is_same_v<T, std::vector<std::string>>) {
            return "=<string>";
          } else {
            return "";
          }
        },
        flag.target);
    return absl::StrCat("  -", flag.name, placeholder);
  };

  size_t column = 0;
  for (const Flag& flag : flags_) {
    column = std::max(column, left_column(flag).size() + 2);
  }
  column = std::min(column, kMaxHelpColumn);
  const size_t help_width = kUsageWidth - column;

  std::string out = intro_;
  if (!out.empty() && out.back() != '\n') out += '\n';
  for (size_t section = 0; section < sections_.size(); ++section) {
    bool titled = false;
    for (const Flag& flag : flags_) {
      if (flag.section != section) continue;
      if (!titled) {
        absl::StrAppend(&out, "\n", section == 0 ? "Flags" : sections_[section],
                        ":\n");
        titled = true;
      }
      std::string left = left_column(flag);
      std::string text = flag.help;
      if (!flag.default_text.empty()) {
        absl::StrAppend(&text, text.empty() ? "" : " ",
                        "(default: ", flag.default_text, ")");
      }
      bool first = true;
      if (left.size() + 2 > column) {  // Too long: help starts below.
        absl::StrAppend(&out, left, "\n");
        first = false;
      }
      for (const std::string& line : Wrap(text, help_width)) {
        std::string prefix = first ? left : "";
        first = false;
        prefix.resize(column, ' ');
        if (line.empty()) prefix.erase(prefix.find_last_not_of(' ') + 1);
        absl::StrAppend(&out, prefix, line, "\n");
      }
    }
  }
  absl::StrAppend(
      &out,
      "\nFlags are written -name=value, --name=value, -name value or --name "
      "value;\na boolean flag alone means true, -name=false turns it off.\n");
  return out;
}

}  // namespace loadtest::cli
