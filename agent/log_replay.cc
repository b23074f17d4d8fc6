#include "agent/log_replay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/log_replay_json.h"

namespace loadtest::agent {
namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
// RFC 3164 4.3.3: a relay that finds no PRI uses user.notice.
constexpr int kDefaultPriority = 13;

void SetPriority(int priority, storage::LogEntry* e) {
  e->priority = priority;
  e->facility = priority / 8;
  e->severity = priority % 8;
  e->version = 1;
}

// "<PRI>" at the start of `*rest`, consumed; false when absent or invalid.
bool TakePriority(absl::string_view* rest, int* priority) {
  const absl::string_view s = *rest;
  if (s.size() < 3 || s[0] != '<') return false;
  size_t i = 1;
  int value = 0;
  while (i < s.size() && i <= 3 && absl::ascii_isdigit(s[i])) {
    value = value * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 1 || i >= s.size() || s[i] != '>' || value > 191) return false;
  *priority = value;
  rest->remove_prefix(i + 1);
  return true;
}

// The next space-separated field, consumed with its space; false when
// `*rest` is empty or starts with a space.
bool TakeField(absl::string_view* rest, absl::string_view* field) {
  if (rest->empty() || rest->front() == ' ') return false;
  const size_t space = rest->find(' ');
  *field = rest->substr(0, space);
  rest->remove_prefix(space == absl::string_view::npos ? rest->size()
                                                       : space + 1);
  return true;
}

std::string Nil(absl::string_view field) {
  return field == "-" ? std::string() : std::string(field);
}

// RFC 5424 STRUCTURED-DATA: "-" or one or more [...] elements whose
// quoted values may hold escaped quotes and brackets. Consumes it; false
// when malformed.
bool TakeStructuredData(absl::string_view* rest, absl::string_view* sd) {
  const absl::string_view s = *rest;
  size_t i = 0;
  if (!s.empty() && s[0] == '-') {
    i = 1;
  } else {
    while (i < s.size() && s[i] == '[') {
      bool quoted = false;
      for (++i; i < s.size(); ++i) {
        if (quoted && s[i] == '\\') {
          ++i;
        } else if (s[i] == '"') {
          quoted = !quoted;
        } else if (!quoted && s[i] == ']') {
          break;
        }
      }
      if (i >= s.size()) return false;
      ++i;
    }
    if (i == 0) return false;
  }
  if (i < s.size() && s[i] != ' ') return false;
  *sd = s[0] == '-' ? absl::string_view() : s.substr(0, i);
  rest->remove_prefix(i < s.size() ? i + 1 : i);
  return true;
}

absl::string_view WithoutBom(absl::string_view message) {
  if (absl::StartsWith(message, "\xEF\xBB\xBF")) message.remove_prefix(3);
  return message;
}

bool ParseRfc5424(absl::string_view s, storage::LogEntry* e) {
  int priority = 0;
  if (!TakePriority(&s, &priority)) return false;
  absl::string_view version, timestamp, host, app, proc, msg_id, sd;
  if (!TakeField(&s, &version) || version != "1") return false;
  if (!TakeField(&s, &timestamp)) return false;
  if (timestamp != "-" &&
      (timestamp.size() < 10 || !absl::ascii_isdigit(timestamp[0]) ||
       timestamp[4] != '-')) {
    return false;
  }
  if (!TakeField(&s, &host) || !TakeField(&s, &app) || !TakeField(&s, &proc) ||
      !TakeField(&s, &msg_id) || !TakeStructuredData(&s, &sd)) {
    return false;
  }
  SetPriority(priority, e);
  e->hostname = Nil(host);
  e->app_name = Nil(app);
  e->proc_id = Nil(proc);
  e->msg_id = Nil(msg_id);
  e->structured_data = std::string(sd);
  e->message = std::string(WithoutBom(s));
  return true;
}

bool IsMonth(absl::string_view m) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  for (const char* month : kMonths) {
    if (m == month) return true;
  }
  return false;
}

// "Mmm dd hh:mm:ss " (the classic stamp) or an RFC 3339 stamp and a space.
bool TakeBsdTimestamp(absl::string_view* rest) {
  const absl::string_view s = *rest;
  if (s.size() > 16 && IsMonth(s.substr(0, 3)) && s[3] == ' ' &&
      s[6] == ' ' && s[9] == ':' && s[12] == ':' && s[15] == ' ' &&
      absl::ascii_isdigit(s[5]) && absl::ascii_isdigit(s[7])) {
    rest->remove_prefix(16);
    return true;
  }
  absl::string_view field;
  absl::string_view copy = s;
  if (!TakeField(&copy, &field)) return false;
  if (field.size() < 19 || !absl::ascii_isdigit(field[0]) || field[4] != '-' ||
      field[10] != 'T') {
    return false;
  }
  *rest = copy;
  return true;
}

bool ParseRfc3164(absl::string_view s, storage::LogEntry* e) {
  int priority = kDefaultPriority;
  TakePriority(&s, &priority);
  absl::string_view host;
  if (!TakeBsdTimestamp(&s) || !TakeField(&s, &host)) return false;
  SetPriority(priority, e);
  e->hostname = std::string(host);
  e->app_name.clear();
  e->proc_id.clear();
  e->msg_id.clear();
  e->structured_data.clear();
  // TAG[PID]: or TAG: (RFC 3164 4.1.3); otherwise the rest is the content.
  size_t i = 0;
  while (i < s.size() && i <= 48 && s[i] != '[' && s[i] != ':' &&
         s[i] != ' ') {
    ++i;
  }
  if (i > 0 && i < s.size() && s[i] == '[') {
    const size_t close = s.find(']', i);
    if (close != absl::string_view::npos && close + 1 < s.size() &&
        s[close + 1] == ':') {
      e->app_name = std::string(s.substr(0, i));
      e->proc_id = std::string(s.substr(i + 1, close - i - 1));
      s.remove_prefix(close + 2);
    }
  } else if (i > 0 && i < s.size() && s[i] == ':') {
    e->app_name = std::string(s.substr(0, i));
    s.remove_prefix(i + 1);
  }
  if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  e->message = std::string(s);
  return true;
}

bool ParsePlain(absl::string_view s, storage::LogEntry* e) {
  SetPriority(kDefaultPriority, e);
  e->hostname.clear();
  e->app_name.clear();
  e->proc_id.clear();
  e->msg_id.clear();
  e->structured_data.clear();
  e->message = std::string(s);
  return true;
}

// Calls `line(text)` for every line of `content` without its end.
template <typename F>
void ForEachLine(absl::string_view content, F line) {
  while (!content.empty()) {
    const size_t end = content.find('\n');
    absl::string_view text = content.substr(0, end);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    line(text);
    if (end == absl::string_view::npos) break;
    content.remove_prefix(end + 1);
  }
}

bool IsBlank(absl::string_view line) {
  return absl::StripAsciiWhitespace(line).empty();
}

}  // namespace

bool ParseLogLine(absl::string_view line, MessageFormat format,
                  storage::LogEntry* entry) {
  if (line.size() > kMaxLineBytes ||
      line.find('\0') != absl::string_view::npos) {
    return false;
  }
  switch (format) {
    case MessageFormat::kRfc5424:
      return ParseRfc5424(line, entry);
    case MessageFormat::kRfc3164:
      return ParseRfc3164(line, entry);
    case MessageFormat::kPlain:
      return ParsePlain(line, entry);
    case MessageFormat::kJsonl:
      return ParseJsonLogLine(line, entry);
    case MessageFormat::kAuto:
      break;
  }
  return false;
}

MessageFormat DetectFormat(absl::string_view content) {
  absl::string_view first;
  bool found = false;
  ForEachLine(content, [&](absl::string_view line) {
    if (!found && !IsBlank(line)) {
      first = line;
      found = true;
    }
  });
  storage::LogEntry entry;
  if (!first.empty() && first.front() == '{') return MessageFormat::kJsonl;
  if (ParseRfc5424(first, &entry)) return MessageFormat::kRfc5424;
  // With a TAG: a plain line that happens to start with a date is not
  // syslog.
  if (ParseRfc3164(first, &entry) && !entry.app_name.empty()) {
    return MessageFormat::kRfc3164;
  }
  return MessageFormat::kPlain;
}

absl::StatusOr<ReplayCorpus> ParseCorpus(absl::string_view content,
                                         MessageFormat format,
                                         const std::string& name) {
  if (IsBlank(content)) {
    return absl::InvalidArgumentError(
        absl::StrCat("messages file ", name, " is empty: nothing to replay"));
  }
  ReplayCorpus corpus;
  corpus.format = format == MessageFormat::kAuto ? DetectFormat(content) : format;
  // One allocation for the rows, not a doubling and moving of them all.
  corpus.entries.reserve(
      static_cast<size_t>(std::count(content.begin(), content.end(), '\n')) + 1);
  storage::LogEntry entry;
  ForEachLine(content, [&](absl::string_view line) {
    if (IsBlank(line)) return;
    if (ParseLogLine(line, corpus.format, &entry)) {
      corpus.entries.push_back(std::move(entry));
      entry = storage::LogEntry();
    } else {
      ++corpus.malformed;
    }
  });
  if (corpus.entries.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages file ", name, " has no line readable as ",
        protocol::MessageFormatName(corpus.format), " (", corpus.malformed,
        " malformed); see --messages-format"));
  }
  return corpus;
}

absl::StatusOr<std::string> ReadMessagesFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "messages file ", path, " cannot be opened: ", std::strerror(errno)));
  }
  struct stat st;
  std::string content;
  absl::Status status;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(
        absl::StrCat("messages file ", path, " is not a regular file"));
  } else if (st.st_size > protocol::kMaxMessagesFileBytes) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "messages file ", path, " has ", st.st_size, " bytes, at most ",
        protocol::kMaxMessagesFileBytes, " (64 MiB)"));
  } else {
    content.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = read(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = absl::InvalidArgumentError(
            absl::StrCat("messages file ", path, " cannot be read: ",
                         n < 0 ? std::strerror(errno) : "it shrank"));
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  close(fd);
  if (!status.ok()) return status;
  if (IsBlank(content)) {
    return absl::InvalidArgumentError(
        absl::StrCat("messages file ", path, " is empty: nothing to replay"));
  }
  return content;
}

}  // namespace loadtest::agent
