#include "security/failed_attempts.h"

#include <algorithm>

namespace loadtest::security {

void FailedAttemptLimiter::Refill(Budget* budget, Clock::time_point now) {
  if (budget->tries >= kBurst) {
    budget->at = now;
    return;
  }
  const auto earned = (now - budget->at) / kRefill;
  if (earned <= 0) return;
  budget->tries = static_cast<int>(
      std::min<int64_t>(kBurst, budget->tries + static_cast<int64_t>(earned)));
  budget->at = budget->tries >= kBurst ? now : budget->at + earned * kRefill;
}

FailedAttemptLimiter::Clock::duration FailedAttemptLimiter::Wait(
    const std::string& address) {
  const Clock::time_point now = Clock::now();
  sync::MutexLock lock(&mu_);
  const auto it = budgets_.find(address);
  if (it == budgets_.end()) return Clock::duration::zero();
  Refill(&it->second, now);
  if (it->second.tries > 0) return Clock::duration::zero();
  return it->second.at + kRefill - now;
}

bool FailedAttemptLimiter::RecordFailure(const std::string& address) {
  const Clock::time_point now = Clock::now();
  sync::MutexLock lock(&mu_);
  if (budgets_.size() >= kMaxAddresses && budgets_.count(address) == 0) {
    for (auto it = budgets_.begin(); it != budgets_.end();) {
      Refill(&it->second, now);
      it = it->second.tries > 0 ? budgets_.erase(it) : std::next(it);
    }
    // Still full: every tracked address is held off; the newcomer gets its
    // burst only once one of them is forgotten.
    if (budgets_.size() >= kMaxAddresses) return false;
  }
  auto [it, inserted] = budgets_.try_emplace(address, Budget{kBurst, now});
  Refill(&it->second, now);
  if (it->second.tries == 0) return false;
  if (it->second.tries == kBurst) it->second.at = now;
  --it->second.tries;
  return it->second.tries == 0;
}

std::string PeerHost(const std::string& peer) {
  std::string host;
  if (peer.rfind("ipv4:", 0) == 0 || peer.rfind("ipv6:", 0) == 0) {
    host = peer.substr(5);
  } else {
    return peer;  // unix:/path, or anything else: the whole string.
  }
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.rfind(':');
  return colon == std::string::npos ? host : host.substr(0, colon);
}

}  // namespace loadtest::security
