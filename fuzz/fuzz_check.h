// FUZZ_CHECK(condition): what a fuzz target asserts of the code under test.
// A failure prints the condition and where, then traps, so libFuzzer keeps
// the input as a crash and the report says which property broke.
#ifndef LOADTEST_FUZZ_FUZZ_CHECK_H_
#define LOADTEST_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

#define FUZZ_CHECK(condition)                                              \
  do {                                                                     \
    if (!(condition)) {                                                    \
      std::fprintf(stderr, "fuzz check failed: %s at %s:%d\n", #condition, \
                   __FILE__, __LINE__);                                    \
      __builtin_trap();                                                    \
    }                                                                      \
  } while (false)

#endif  // LOADTEST_FUZZ_FUZZ_CHECK_H_
