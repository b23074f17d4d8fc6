#include "sync/completion.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace loadtest::sync {
namespace {

using Clock = std::chrono::steady_clock;

TEST(CompletionTest, ASetFlagIsSeenAtOnceEvenPastTheDeadline) {
  Completion done;
  EXPECT_FALSE(done.IsSet());
  done.Set();
  EXPECT_TRUE(done.IsSet());
  EXPECT_TRUE(done.WaitUntil(Clock::now() - std::chrono::seconds(1)));
  EXPECT_TRUE(done.WaitUntil(Clock::now() + std::chrono::hours(1)));
}

TEST(CompletionTest, AnUnsetFlagWaitsUntilItsDeadline) {
  Completion done;
  EXPECT_FALSE(done.WaitUntil(Clock::now() - std::chrono::seconds(1)));
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(20);
  EXPECT_FALSE(done.WaitUntil(deadline));
  EXPECT_GE(Clock::now(), deadline);  // It did not give up early.
  // Timing out left it usable: a later Set() is seen.
  done.Set();
  EXPECT_TRUE(done.WaitUntil(deadline));
}

// Each round races a waiter against the setter; over 2,000 rounds both
// orders are all but certain to occur (the waiter already asleep when Set()
// runs, and Set() first). Either way the waiter returns true and sees what
// was written before Set().
TEST(CompletionTest, AWaiterReturnsOnceSetAndSeesWhatWasWrittenBefore) {
  constexpr int kRounds = 2000;
  for (int round = 0; round < kRounds; ++round) {
    auto done = std::make_unique<Completion>();
    int payload = 0;
    bool woken = false;
    int seen = -1;
    std::thread waiter([&] {
      woken = done->WaitUntil(Clock::now() + std::chrono::seconds(60));
      seen = payload;  // Written before Set(): no lock needed.
    });
    payload = round + 1;
    done->Set();
    waiter.join();
    ASSERT_TRUE(woken) << "round " << round;
    ASSERT_EQ(seen, round + 1) << "round " << round;
  }
}

}  // namespace
}  // namespace loadtest::sync
