#include "storage/log_entry.h"

#include <cstdio>
#include <ctime>

namespace loadtest::storage {

std::string FormatTimestamp(int64_t timestamp_ns) {
  int64_t seconds = timestamp_ns / 1000000000;
  int64_t nanos = timestamp_ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    seconds -= 1;
  }
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer),
                "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
                tm_utc.tm_year + 1900, tm_utc.tm_mon + 1, tm_utc.tm_mday,
                tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                static_cast<long long>(nanos));
  return buffer;
}

namespace {

// Reads `n` decimal digits at `p`; false if any is not a digit.
bool Digits(const char* p, int n, int64_t* value) {
  int64_t v = 0;
  for (int i = 0; i < n; ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
    v = v * 10 + (p[i] - '0');
  }
  *value = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year =
      (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

}  // namespace

// Readers parse one timestamp per row returned; this avoids sscanf and
// timegm (a locale-aware scanner and a time-zone lookup) on that path.
bool ParseTimestamp(absl::string_view text, int64_t* timestamp_ns) {
  // YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ
  if (text.size() != 30 || text[4] != '-' || text[7] != '-' ||
      text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != '.' || text[29] != 'Z') {
    return false;
  }
  const char* p = text.data();
  int64_t year, month, day, hour, minute, second, nanos;
  if (!Digits(p, 4, &year) || !Digits(p + 5, 2, &month) ||
      !Digits(p + 8, 2, &day) || !Digits(p + 11, 2, &hour) ||
      !Digits(p + 14, 2, &minute) || !Digits(p + 17, 2, &second) ||
      !Digits(p + 20, 9, &nanos)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  const int64_t seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
      second;
  *timestamp_ns = seconds * 1000000000 + nanos;
  return true;
}

}  // namespace loadtest::storage
