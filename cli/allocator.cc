#include "cli/allocator.h"

#include <dlfcn.h>

namespace loadtest::cli {

const char* AllocatorName() {
  // tcmalloc exports its entry points under tc_ names beside malloc itself.
  static const char* const name =
      dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr ? "tcmalloc" : "glibc";
  return name;
}

}  // namespace loadtest::cli
