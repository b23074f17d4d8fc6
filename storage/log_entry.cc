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

bool ParseTimestamp(const std::string& text, int64_t* timestamp_ns) {
  struct tm tm_utc = {};
  long long nanos = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9lldZ%n",
                  &tm_utc.tm_year, &tm_utc.tm_mon, &tm_utc.tm_mday,
                  &tm_utc.tm_hour, &tm_utc.tm_min, &tm_utc.tm_sec, &nanos,
                  &consumed) != 7 ||
      static_cast<size_t>(consumed) != text.size()) {
    return false;
  }
  tm_utc.tm_year -= 1900;
  tm_utc.tm_mon -= 1;
  const time_t seconds = timegm(&tm_utc);
  *timestamp_ns = static_cast<int64_t>(seconds) * 1000000000 + nanos;
  return true;
}

}  // namespace loadtest::storage
