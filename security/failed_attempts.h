// FailedAttemptLimiter: a back-off on failed authentication, per caller
// address. Each address may fail kBurst times; after that it may fail once
// more every kRefill, and until then its calls are refused without looking
// at their credentials, so a token cannot be guessed faster than about
// 10 tries a minute from one address. A call with the right credentials
// does not reset the count (it comes from whoever holds them anyway).
//
// Thread-safety: safe to call from any thread.
#ifndef LOADTEST_SECURITY_FAILED_ATTEMPTS_H_
#define LOADTEST_SECURITY_FAILED_ATTEMPTS_H_

#include <chrono>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "sync/mutex.h"

namespace loadtest::security {

class FailedAttemptLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kBurst = 10;
  static constexpr std::chrono::seconds kRefill{6};
  // Addresses tracked at most; beyond it those that may try again are
  // forgotten first.
  static constexpr size_t kMaxAddresses = 4096;

  // Zero when `address` (a host, no port) may try now; otherwise how long
  // until it may.
  Clock::duration Wait(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

  // Records a failed attempt from `address`. True when this failure used
  // its last try (the caller may log that the address is now held off).
  bool RecordFailure(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Tries left at `at` (whole tries; the fraction carries over in `at`).
  struct Budget {
    int tries = kBurst;
    Clock::time_point at;
  };
  // `budget` brought up to `now`.
  static void Refill(Budget* budget, Clock::time_point now);

  sync::Mutex mu_;
  std::map<std::string, Budget> budgets_ ABSL_GUARDED_BY(mu_);
};

// The host of a gRPC peer string ("ipv4:10.0.0.5:51234" -> "10.0.0.5",
// "ipv6:[::1]:51234" -> "::1"); any other peer string whole.
std::string PeerHost(const std::string& peer);

}  // namespace loadtest::security

#endif  // LOADTEST_SECURITY_FAILED_ATTEMPTS_H_
