#include "agent/log_replay_json.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace loadtest::agent {
namespace {

// RFC 3164 4.3.3: what a relay assumes of a line without a priority.
constexpr int kDefaultPriority = 13;

// The keys a row is read from, grouped by column, each group in the order
// its keys are tried (docs/messages.md).
// clang-format off
enum JsonKey {
  kMessage, kMESSAGE, kMsg,
  kHostname, kHost, kJournalHostname,
  kAppName, kApp, kSyslogIdentifier, kJournalComm,
  kProcId, kPid, kJournalPid,
  kMsgId, kMessageId,
  kFacility, kSyslogFacility,
  kSeverity, kPriority, kLevel,
  kStructuredData,
  kOtherKey,  // Any other key: its value is read, not kept.
};
constexpr absl::string_view kJsonKeyNames[kOtherKey] = {
    "message", "MESSAGE", "msg",
    "hostname", "host", "_HOSTNAME",
    "app_name", "app", "SYSLOG_IDENTIFIER", "_COMM",
    "proc_id", "pid", "_PID",
    "msg_id", "MESSAGE_ID",
    "facility", "SYSLOG_FACILITY",
    "severity", "PRIORITY", "level",
    "structured_data"};
// clang-format on

JsonKey JsonKeyOf(absl::string_view name) {
  for (int k = 0; k < kOtherKey; ++k) {
    const absl::string_view known = kJsonKeyNames[k];
    // The first byte before the rest: most keys differ there.
    if (name.size() == known.size() && name[0] == known[0] && name == known) {
      return static_cast<JsonKey>(k);
    }
  }
  return kOtherKey;
}

int SeverityOf(absl::string_view text, int otherwise) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number) && number >= 0 && number <= 7) {
    return number;
  }
  const std::string name = absl::AsciiStrToLower(text);
  static constexpr std::pair<const char*, int> kNames[] = {
      {"emerg", 0}, {"emergency", 0},   {"panic", 0},   {"alert", 1},
      {"crit", 2},  {"critical", 2},    {"fatal", 2},   {"err", 3},
      {"error", 3}, {"warn", 4},        {"warning", 4}, {"notice", 5},
      {"info", 6},  {"information", 6}, {"debug", 7},   {"trace", 7}};
  for (const auto& [n, value] : kNames) {
    if (name == n) return value;
  }
  return otherwise;
}

// What a line holds under the kept keys: for each, whether its last value
// is text (a string, or an integer written out) and the text; and
// structured_data's tree when it is not a string.
class JsonRow {
 public:
  // The text under `key`, to be written by the caller.
  std::string* Text(JsonKey key) {
    Value& value = values_[key];
    value.is_text = value.owned = true;
    value.owned_text.clear();
    return &value.owned_text;
  }
  // Text under `key` that stands in the line as it is: not copied until
  // Fill. The line must outlive the JsonRow.
  void View(JsonKey key, absl::string_view text) {
    values_[key].is_text = true;
    values_[key].owned = false;
    values_[key].view = text;
  }
  // A value under `key` that is not text.
  void NotText(JsonKey key) { values_[key].is_text = false; }
  // structured_data when it is not a string, to be built by the caller.
  nlohmann::json* Tree() {
    NotText(kStructuredData);
    has_tree_ = true;
    return &tree_;
  }

  // The row; false without a message.
  bool Fill(storage::LogEntry* e) const {
    const Value* message = First({kMessage, kMESSAGE, kMsg});
    if (message == nullptr) return false;
    e->version = 1;
    e->facility = kDefaultPriority / 8;
    e->severity = kDefaultPriority % 8;
    Take({kMessage, kMESSAGE, kMsg}, &e->message);
    Take({kHostname, kHost, kJournalHostname}, &e->hostname);
    Take({kAppName, kApp, kSyslogIdentifier, kJournalComm}, &e->app_name);
    Take({kProcId, kPid, kJournalPid}, &e->proc_id);
    Take({kMsgId, kMessageId}, &e->msg_id);
    int facility = 0;
    const Value* text = First({kFacility, kSyslogFacility});
    if (text != nullptr && absl::SimpleAtoi(text->text(), &facility) &&
        facility >= 0 && facility <= 23) {
      e->facility = facility;
    }
    text = First({kSeverity, kPriority, kLevel});
    if (text != nullptr) e->severity = SeverityOf(text->text(), e->severity);
    e->priority = e->facility * 8 + e->severity;
    e->structured_data.clear();
    if (values_[kStructuredData].is_text) {
      Take({kStructuredData}, &e->structured_data);
    } else if (has_tree_) {
      e->structured_data = tree_.dump();  // As nlohmann writes the tree.
    }
    return true;
  }

 private:
  struct Value {
    bool is_text = false;
    bool owned = false;  // The text is owned_text, not view.
    absl::string_view view;
    std::string owned_text;
    absl::string_view text() const { return owned ? owned_text : view; }
  };

  // The first of `keys` whose value is text; null when none is.
  const Value* First(std::initializer_list<JsonKey> keys) const {
    for (JsonKey k : keys) {
      if (values_[k].is_text) return &values_[k];
    }
    return nullptr;
  }
  // The first text of `keys` into `*out`; `*out` emptied when none.
  void Take(std::initializer_list<JsonKey> keys, std::string* out) const {
    const Value* value = First(keys);
    const absl::string_view text = value ? value->text() : absl::string_view();
    out->assign(text.data(), text.size());
  }

  Value values_[kOtherKey];
  bool has_tree_ = false;
  nlohmann::json tree_;
};

// Bytes that stand for themselves in a JSON string: ASCII from the space
// up, but the quote and the backslash.
constexpr std::array<bool, 256> kPlainJsonBytes = [] {
  std::array<bool, 256> plain{};
  for (int b = 0x20; b < 0x80; ++b) plain[b] = b != '"' && b != '\\';
  return plain;
}();

// Reads one line into a JsonRow. A loop over the line's tokens with a
// stack of the open containers, not a recursion: a 64 KiB line may nest
// 32,000 deep. The values of kept keys go to the row, structured_data's
// (when not a string) into a tree; the others are only checked.
class JsonLineReader {
 public:
  explicit JsonLineReader(absl::string_view line)
      : p_(line.data()), end_(line.data() + line.size()) {}

  // False when nlohmann::json::parse would refuse the line, or it is not
  // an object.
  bool Read() {
    if (absl::StartsWith(Rest(), "\xEF\xBB\xBF")) {
      p_ += 3;  // A byte order mark, which nlohmann skips.
    }
    SkipSpace();
    if (p_ == end_ || *p_ != '{') return false;
    State state = kAfterValue;
    if (!Value(&state)) return false;
    while (!open_.empty()) {
      SkipSpace();
      const bool object = open_.back() == '{';
      const char close = object ? '}' : ']';
      switch (state) {
        case kFirst:  // After '{' or '['.
          if (Consume(close)) {
            Close();
            state = kAfterValue;
          } else {
            state = kNext;
          }
          break;
        case kNext:  // A member or an element is due.
          if (object && !Key()) return false;
          if (!Value(&state)) return false;
          break;
        case kAfterValue:
          if (Consume(',')) {
            state = kNext;
          } else if (Consume(close)) {
            Close();
          } else {
            return false;
          }
          break;
      }
    }
    SkipSpace();
    return p_ == end_;
  }

  const JsonRow& row() const { return row_; }

 private:
  enum State { kFirst, kNext, kAfterValue };

  void SkipSpace() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
      ++p_;
    }
  }
  bool Consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  absl::string_view Rest() const {
    return absl::string_view(p_, static_cast<size_t>(end_ - p_));
  }
  bool IsDigit() const { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; }

  // The line's object holds the keys the row takes; so does the tree.
  bool AtTop() const { return open_.size() == 1; }
  bool InTree() const { return !tree_open_.empty(); }

  // A member's key and its colon.
  bool Key() {
    absl::string_view name;
    if (!Consume('"') || !String(&name)) return false;
    if (AtTop()) {
      key_ = JsonKeyOf(name);
    } else if (InTree()) {
      tree_key_ = std::string(name);
    }
    SkipSpace();
    if (!Consume(':')) return false;
    SkipSpace();
    return true;
  }

  // A value; `*state` kFirst when it opens a container, kAfterValue else.
  bool Value(State* state) {
    if (p_ == end_) return false;
    const char c = *p_;
    *state = kAfterValue;
    if (c == '{' || c == '[') {
      ++p_;
      Open(c == '{' ? nlohmann::json::value_t::object
                    : nlohmann::json::value_t::array);
      open_.push_back(c);
      *state = kFirst;
      return true;
    }
    if (c == '"') {
      ++p_;
      return StringValue();
    }
    if (c == 't') return Literal("true", true);
    if (c == 'f') return Literal("false", false);
    if (c == 'n') return Literal("null", nullptr);
    return Number();
  }

  void Open(nlohmann::json::value_t type) {
    if (AtTop() && key_ == kStructuredData) {
      nlohmann::json* tree = row_.Tree();
      *tree = type;
      tree_open_.push_back(tree);
    } else if (AtTop()) {
      if (key_ != kOtherKey) row_.NotText(key_);
    } else if (InTree()) {
      tree_open_.push_back(AddToTree(type));
    }
  }

  void Close() {
    open_.pop_back();
    if (InTree()) tree_open_.pop_back();
  }

  // Adds `value` to the innermost open container of the tree, as
  // nlohmann's own tree builder does (a repeated key: the last value).
  nlohmann::json* AddToTree(nlohmann::json value) {
    nlohmann::json& container = *tree_open_.back();
    if (container.is_array()) {
      container.push_back(std::move(value));
      return &container.back();
    }
    nlohmann::json& slot = container[tree_key_];
    slot = std::move(value);
    return &slot;
  }

  // A value that is neither text nor a container.
  void Other(nlohmann::json value) {
    if (AtTop() && key_ == kStructuredData) {
      *row_.Tree() = std::move(value);
    } else if (AtTop()) {
      if (key_ != kOtherKey) row_.NotText(key_);
    } else if (InTree()) {
      AddToTree(std::move(value));
    }
  }

  template <typename V>
  bool Literal(absl::string_view word, V value) {
    if (!absl::StartsWith(Rest(), word)) {
      return false;
    }
    p_ += word.size();
    Other(nlohmann::json(value));
    return true;
  }

  bool StringValue() {
    const char* start = p_;
    absl::string_view text;
    if (!String(&text)) return false;
    const bool in_line = text.data() == start;
    if (AtTop() && key_ != kOtherKey) {
      if (in_line) {
        row_.View(key_, text);
      } else {
        row_.Text(key_)->swap(decoded_);
      }
    } else if (InTree()) {
      AddToTree(std::string(text));
    }
    return true;
  }

  bool Digits() {
    if (!IsDigit()) return false;
    while (IsDigit()) ++p_;
    return true;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?  An integer is text, as
  // nlohmann's tree gives it; a decimal is not.
  bool Number() {
    const char* start = p_;
    const bool negative = Consume('-');
    const char* digits = p_;
    if (!Consume('0') && !Digits()) return false;
    const char* digits_end = p_;
    bool integer = true;
    if (Consume('.')) {
      integer = false;
      if (!Digits()) return false;
    }
    int exponent_digits = 0;
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exponent = p_;
      if (!Digits()) return false;
      exponent_digits = static_cast<int>(p_ - exponent);
    }
    const absl::string_view token(start, static_cast<size_t>(p_ - start));
    // Such numbers are surely in range: an integer of 64 bits, a finite
    // decimal. Others (to nlohmann: a decimal past 64 bits, an error past
    // the double's range) and the tree's numbers are read by nlohmann.
    const bool sure = integer ? digits_end - digits <= 18
                              : token.size() <= 32 && exponent_digits <= 2;
    if (sure && !InTree() && !(AtTop() && key_ == kStructuredData)) {
      if (!AtTop() || key_ == kOtherKey) return true;
      if (!integer) {
        row_.NotText(key_);
        return true;
      }
      int64_t value = 0;
      for (const char* d = digits; d < digits_end; ++d) {
        value = value * 10 + (*d - '0');
      }
      absl::StrAppend(row_.Text(key_), negative ? -value : value);
      return true;
    }
    nlohmann::json number = nlohmann::json::parse(token, nullptr, false);
    if (number.is_discarded()) return false;
    if (AtTop() && key_ != kOtherKey && key_ != kStructuredData &&
        number.is_number_integer()) {
      // As json::get<int64_t>() reads it: wrapped above 2^63.
      absl::StrAppend(row_.Text(key_), number.get<int64_t>());
      return true;
    }
    Other(std::move(number));
    return true;
  }

  // The rest of a string after its opening quote, and its closing quote.
  // `*text` is a view of the line when it holds no escape, else of
  // decoded_. False when nlohmann would refuse it: a control character,
  // bytes that are not UTF-8, a bad escape or a lone surrogate.
  bool String(absl::string_view* text) {
    const char* start = p_;
    SkipPlain();
    if (p_ < end_ && *p_ == '"') {
      *text = absl::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    decoded_.assign(start, static_cast<size_t>(p_ - start));
    while (p_ < end_) {
      if (*p_ == '"') {
        ++p_;
        *text = decoded_;
        return true;
      }
      if (*p_ == '\\') {
        if (!Escape()) return false;
      } else {
        const char* sequence = p_;
        if (!Utf8()) return false;
        decoded_.append(sequence, static_cast<size_t>(p_ - sequence));
      }
      const char* run = p_;
      SkipPlain();
      decoded_.append(run, static_cast<size_t>(p_ - run));
    }
    return false;
  }

  // Moves past the bytes that stand for themselves, eight at a time while
  // none needs a look.
  void SkipPlain() {
    const char* p = p_;  // Not p_ itself: a char store could alias it.
    while (end_ - p >= 8 && AllPlain(p)) p += 8;
    while (p < end_ && kPlainJsonBytes[static_cast<unsigned char>(*p)]) ++p;
    p_ = p;
  }

  // Whether the 8 bytes at `p` are all plain (kPlainJsonBytes), tested at
  // once: a byte 0x80 or above has its high bit; one below 0x20, a quote
  // or a backslash borrows, and sets its high bit, when 0x20 is subtracted
  // from it, or 1 from it xor the character. (A borrow can set the bit of
  // the bytes above too, which then only get a look.)
  static bool AllPlain(const char* p) {
    constexpr uint64_t kOnes = 0x0101010101010101u;
    constexpr uint64_t kHighs = 0x8080808080808080u;
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    const uint64_t look =
        ((w - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes) | w) &
        kHighs;
    return look == 0;
  }

  // An escape, decoded onto decoded_.
  bool Escape() {
    ++p_;  // The backslash.
    if (p_ == end_) return false;
    char c = *p_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        break;
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      case 'u':
        return CodePoint();
      default:
        return false;
    }
    decoded_.push_back(c);
    return true;
  }

  // Four hex digits, consumed; -1 when they are not.
  int Hex4() {
    if (end_ - p_ < 4) return -1;
    int value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = *p_++;
      int digit;
      if (h >= '0' && h <= '9') {
        digit = h - '0';
      } else if (h >= 'a' && h <= 'f') {
        digit = h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        digit = h - 'A' + 10;
      } else {
        return -1;
      }
      value = value * 16 + digit;
    }
    return value;
  }

  // \uXXXX after its 'u' (and a low surrogate's \uXXXX after a high one),
  // written as UTF-8.
  bool CodePoint() {
    int cp = Hex4();
    if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!Consume('\\') || !Consume('u')) return false;
      const int low = Hex4();
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    const auto put = [&](int byte) {
      decoded_.push_back(static_cast<char>(byte));
    };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | (cp >> 6));
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3F));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
    return true;
  }

  // A well-formed UTF-8 sequence of two to four bytes (Unicode's table
  // 3-7, which nlohmann checks), consumed; false for anything else, a
  // control character included.
  bool Utf8() {
    const auto byte = [&](int i) { return static_cast<unsigned char>(p_[i]); };
    const unsigned char b0 = byte(0);
    int n = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      if (b0 == 0xE0) low = 0xA0;
      if (b0 == 0xED) high = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      if (b0 == 0xF0) low = 0x90;
      if (b0 == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (end_ - p_ < n || byte(1) < low || byte(1) > high) return false;
    for (int i = 2; i < n; ++i) {
      if (byte(i) < 0x80 || byte(i) > 0xBF) return false;
    }
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
  std::string open_;         // The open containers, '{' or '[' each.
  JsonKey key_ = kOtherKey;  // The line's key whose value is being read.
  std::string decoded_;      // The last string read with escapes.
  JsonRow row_;
  // structured_data's tree, while it is read: its open containers, and
  // the key of the next value in the innermost if an object.
  std::vector<nlohmann::json*> tree_open_;
  std::string tree_key_;
};

}  // namespace

bool ParseJsonLogLine(absl::string_view line, storage::LogEntry* entry) {
  JsonLineReader reader(line);
  return reader.Read() && reader.row().Fill(entry);
}

}  // namespace loadtest::agent
