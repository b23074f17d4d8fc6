// Mutex, MutexLock and CondVar: the project's lock, a std::mutex that
// clang's -Wthread-safety understands. Members it guards carry
// ABSL_GUARDED_BY(mu_), functions that need it
// ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_), and the clang builds check both.
//
// Why not absl::Mutex: the distribution's Abseil is not built for
// ThreadSanitizer, which then sees every absl::Mutex-guarded access as a
// race; std::mutex (pthreads) it understands. Why not std::mutex alone:
// libstdc++'s is not an annotated capability, so nothing would check the
// lock rules.
//
// Waiting: write the condition as a loop in the function that holds the
// lock (`while (!ready_) cv_.Wait(&mu_);`), so the analysis sees the guarded
// reads under the lock; a predicate lambda would be analysed on its own.
// Thread-safety: as std::mutex and std::condition_variable.
#ifndef LOADTEST_SYNC_MUTEX_H_
#define LOADTEST_SYNC_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace loadtest::sync {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

  // For CondVar, which waits on the std::mutex itself.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A std::condition_variable on a Mutex: no allocation, as cheap as the
// standard one (the store's write path waits on one per write).
class CondVar {
 public:
  // Releases `mu` while waiting, holds it again on return (also after a
  // spurious wakeup: wait in a loop on the condition).
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // Still held: the caller's.
  }
  // As Wait, until `deadline` at the latest. True when the deadline passed.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex* mu,
                 const std::chrono::time_point<Clock, Duration>& deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    const bool timed_out = cv_.wait_until(lock, deadline) == std::cv_status::timeout;
    lock.release();
    return timed_out;
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace loadtest::sync

#endif  // LOADTEST_SYNC_MUTEX_H_
