// WaitUntil for the store's tests: polls a condition on the store's state
// (not on time) until it holds, or fails after 60 s.
#ifndef LOADTEST_TESTS_STORAGE_WAIT_UNTIL_H_
#define LOADTEST_TESTS_STORAGE_WAIT_UNTIL_H_

#include <chrono>
#include <functional>
#include <thread>

namespace loadtest::storage {

inline bool WaitUntil(const std::function<bool()>& condition) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace loadtest::storage

#endif  // LOADTEST_TESTS_STORAGE_WAIT_UNTIL_H_
