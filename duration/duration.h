// Durations as the original Go tool reads and writes them ("300ms", "1m30s",
// Go's time.ParseDuration and time.Duration.String()): one small component
// below cli/ (its duration flags) and protocol/ (RunSpec's messages, a
// ramp's stages), so that neither needs the other to spell a duration.
//
// Pure functions; safe from any thread.
#ifndef LOADTEST_DURATION_DURATION_H_
#define LOADTEST_DURATION_DURATION_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loadtest::duration {

// Parses a duration in Go's time.ParseDuration syntax: an optional sign, then
// one or more decimal numbers (with optional fraction) each followed by a unit
// (ns, us, µs, ms, s, m, h), e.g. "300ms", "1.5s", "1m30s", "-2h". A bare "0"
// (optionally signed) needs no unit. Returns InvalidArgument naming `text` on
// anything else, and when the result does not fit in int64 nanoseconds.
absl::StatusOr<std::chrono::nanoseconds> ParseDuration(absl::string_view text);

// ParseDuration's parts, for a caller that words its own error (a flag):
// on failure returns false and sets `*reason`; `*out_of_range` tells an
// overflow from a syntax error.
bool ParseGoDuration(absl::string_view text, int64_t* out, std::string* reason,
                     bool* out_of_range);

// Formats `d` as Go's time.Duration.String() does: "0s", "5ns", "10µs",
// "1.5ms", "1.5s", "1m30s", "2h0m0s". The result parses back to `d` with
// ParseDuration.
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace loadtest::duration

#endif  // LOADTEST_DURATION_DURATION_H_
