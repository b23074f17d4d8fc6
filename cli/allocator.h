// The allocator this process runs on, for the start-up line and reports:
// figures measured on glibc's malloc and on tcmalloc differ (the store's
// write rate beside readers by about a third, docs/store-performance.md).
#ifndef LOADTEST_CLI_ALLOCATOR_H_
#define LOADTEST_CLI_ALLOCATOR_H_

namespace loadtest::cli {

// "tcmalloc" when tcmalloc serves malloc (linked, as the release build
// does, or preloaded), "glibc" otherwise. Looked up at run time, so it tells
// what the process runs on, not what the build meant. Thread-safe.
const char* AllocatorName();

}  // namespace loadtest::cli

#endif  // LOADTEST_CLI_ALLOCATOR_H_
