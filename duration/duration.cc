#include "duration/duration.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace loadtest::duration {
namespace {

constexpr uint64_t kDurationLimit = uint64_t{1} << 63;  // |INT64_MIN| in ns.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Multiplier in nanoseconds for a Go duration unit, or 0 when unknown.
uint64_t DurationUnit(absl::string_view unit) {
  if (unit == "ns") return 1;
  // "us", U+00B5 micro sign, U+03BC Greek small letter mu (as Go accepts).
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return 1000 * 1000 * 1000;
  if (unit == "m") return uint64_t{60} * 1000 * 1000 * 1000;
  if (unit == "h") return uint64_t{3600} * 1000 * 1000 * 1000;
  return 0;
}

// `value / 10^digits` in decimal, trailing zeros of the fraction (and the
// point itself when the fraction is zero) omitted: (1500, 3) -> "1.5".
std::string FixedPoint(uint64_t value, int digits) {
  uint64_t divisor = 1;
  for (int i = 0; i < digits; ++i) divisor *= 10;
  std::string out = absl::StrCat(value / divisor);
  uint64_t fraction = value % divisor;
  if (fraction == 0) return out;
  std::string fraction_text(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    fraction_text[static_cast<size_t>(i)] =
        static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  fraction_text.erase(fraction_text.find_last_not_of('0') + 1);
  return absl::StrCat(out, ".", fraction_text);
}

}  // namespace

bool ParseGoDuration(absl::string_view s, int64_t* out, std::string* reason,
                     bool* out_of_range) {
  *out_of_range = false;
  if (s.empty()) {
    *reason = "empty";
    return false;
  }
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *out = 0;
    return true;
  }
  auto overflow = [&] {
    *reason = "out of range";
    *out_of_range = true;
    return false;
  };
  if (s.empty()) {
    *reason = "expected a number after the sign";
    return false;
  }
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) {
      *reason = absl::StrCat("expected a number at \"", s, "\"");
      return false;
    }
    // Integer part.
    uint64_t whole = 0;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (whole > kDurationLimit / 10) return overflow();
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      if (whole > kDurationLimit) return overflow();
    }
    const bool has_whole = i > 0;
    s.remove_prefix(i);
    // Fraction: digits beyond what fits in 63 bits are ignored, as in Go.
    uint64_t fraction = 0;
    double scale = 1;
    bool has_fraction = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool saturated = false;
      size_t j = 0;
      for (; j < s.size() && IsDigit(s[j]); ++j) {
        if (saturated) continue;
        if (fraction > (kDurationLimit - 1) / 10) {
          saturated = true;
          continue;
        }
        const uint64_t next = fraction * 10 + static_cast<uint64_t>(s[j] - '0');
        if (next > kDurationLimit) {
          saturated = true;
          continue;
        }
        fraction = next;
        scale *= 10;
      }
      has_fraction = j > 0;
      s.remove_prefix(j);
    }
    if (!has_whole && !has_fraction) {
      *reason = "expected digits around the decimal point";
      return false;
    }
    // Unit: everything up to the next number.
    size_t k = 0;
    while (k < s.size() && s[k] != '.' && !IsDigit(s[k])) ++k;
    if (k == 0) {
      *reason = "missing unit (use ns, us, ms, s, m or h)";
      return false;
    }
    const absl::string_view unit_text = s.substr(0, k);
    s.remove_prefix(k);
    const uint64_t unit = DurationUnit(unit_text);
    if (unit == 0) {
      *reason = absl::StrCat("unknown unit \"", unit_text,
                             "\" (use ns, us, ms, s, m or h)");
      return false;
    }
    if (whole > kDurationLimit / unit) return overflow();
    uint64_t value = whole * unit;
    if (fraction > 0) {
      value += static_cast<uint64_t>(static_cast<double>(fraction) *
                                     (static_cast<double>(unit) / scale));
      if (value > kDurationLimit) return overflow();
    }
    if (value > kDurationLimit - total) return overflow();
    total += value;
  }
  if (negative) {
    *out = total == kDurationLimit ? std::numeric_limits<int64_t>::min()
                                   : -static_cast<int64_t>(total);
    return true;
  }
  if (total > kDurationLimit - 1) return overflow();
  *out = static_cast<int64_t>(total);
  return true;
}

absl::StatusOr<std::chrono::nanoseconds> ParseDuration(absl::string_view text) {
  int64_t ns = 0;
  std::string reason;
  bool out_of_range = false;
  if (!ParseGoDuration(text, &ns, &reason, &out_of_range)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration \"", text, "\": ", reason));
  }
  return std::chrono::nanoseconds(ns);
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  const bool negative = ns < 0;
  // Unsigned negation also covers INT64_MIN.
  const uint64_t u = negative ? uint64_t{0} - static_cast<uint64_t>(ns)
                              : static_cast<uint64_t>(ns);
  std::string out = negative ? "-" : "";
  constexpr uint64_t kSecond = 1000 * 1000 * 1000;
  if (u == 0) return "0s";
  if (u < 1000) return absl::StrCat(out, u, "ns");
  if (u < 1000 * 1000) return absl::StrCat(out, FixedPoint(u, 3), "\xC2\xB5s");
  if (u < kSecond) return absl::StrCat(out, FixedPoint(u, 6), "ms");
  const uint64_t whole_seconds = u / kSecond;
  const uint64_t hours = whole_seconds / 3600;
  const uint64_t minutes = whole_seconds / 60 % 60;
  if (hours > 0) absl::StrAppend(&out, hours, "h");
  if (hours > 0 || minutes > 0) absl::StrAppend(&out, minutes, "m");
  absl::StrAppend(&out, FixedPoint(u % (60 * kSecond), 9), "s");
  return out;
}

}  // namespace loadtest::duration
