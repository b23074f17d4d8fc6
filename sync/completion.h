// Completion: a one-shot flag that one thread waits on and another sets,
// built on a Linux futex.
//
// The store's write path waits on one per write: the caller sleeps until
// the acknowledger has set it. Unlike a CondVar it needs no mutex, so a
// woken caller does not queue again on the store's lock, and Set() pays a
// system call only when the waiter is actually asleep.
//
// Memory order: everything written before Set() is visible to the thread
// whose Wait returned true (a release store paired with an acquire load).
// Thread-safety: one waiter and one setter, any threads; Set() once. The
// object must outlive Set()'s return.
#ifndef LOADTEST_SYNC_COMPLETION_H_
#define LOADTEST_SYNC_COMPLETION_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace loadtest::sync {

class Completion {
 public:
  Completion() = default;
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;

  // Sets the flag and wakes the waiter if it sleeps.
  void Set() {
    if (word_.exchange(kSet, std::memory_order_acq_rel) == kSleeping) {
      Futex(FUTEX_WAKE_PRIVATE, 1, nullptr);
    }
  }

  bool IsSet() const { return word_.load(std::memory_order_acquire) == kSet; }

  // Waits until the flag is set (true) or `deadline` passed (false). A
  // deadline already past still returns true when the flag is set.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    // libstdc++'s steady_clock is CLOCK_MONOTONIC, the clock
    // FUTEX_WAIT_BITSET measures absolute timeouts on.
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            deadline.time_since_epoch());
    timespec at{};
    if (since_epoch.count() > 0) {
      at.tv_sec = static_cast<time_t>(since_epoch.count() / 1000000000);
      at.tv_nsec = static_cast<long>(since_epoch.count() % 1000000000);
    }
    uint32_t seen = word_.load(std::memory_order_acquire);
    while (seen != kSet) {
      if (seen == kPending &&
          !word_.compare_exchange_weak(seen, kSleeping,
                                       std::memory_order_acquire)) {
        continue;  // Set meanwhile, or a spurious failure: look again.
      }
      const long rc = Futex(FUTEX_WAIT_BITSET_PRIVATE, kSleeping, &at,
                            FUTEX_BITSET_MATCH_ANY);
      if (rc != 0 && errno == ETIMEDOUT) return IsSet();
      // Woken, interrupted, or the word changed before the wait began.
      seen = word_.load(std::memory_order_acquire);
    }
    return true;
  }

 private:
  static constexpr uint32_t kPending = 0;
  static constexpr uint32_t kSleeping = 1;  // Pending, and the waiter sleeps.
  static constexpr uint32_t kSet = 2;

  long Futex(int op, uint32_t value, const timespec* timeout,
             uint32_t bitset = 0) {
    return syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), op, value,
                   timeout, nullptr, bitset);
  }

  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
                "the futex word is the atomic itself");
  std::atomic<uint32_t> word_{kPending};
};

}  // namespace loadtest::sync

#endif  // LOADTEST_SYNC_COMPLETION_H_
