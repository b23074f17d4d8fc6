// SignalWatcher: turns SIGINT/SIGTERM into a graceful stop. The first signal
// calls `on_signal` (from the watcher's own thread, never from a signal
// handler); a second one ends the process at once with 128+signal.
//
// Construct it on the main thread before any other thread starts: it blocks
// the signals for the process's threads so that only its sigwait() sees
// them. The destructor stops and joins the watcher thread.
#ifndef LOADTEST_CLI_SIGNAL_WATCHER_H_
#define LOADTEST_CLI_SIGNAL_WATCHER_H_

#include <pthread.h>

#include <atomic>
#include <functional>
#include <thread>

namespace loadtest::cli {

class SignalWatcher {
 public:
  using Callback = std::function<void(int signal_number)>;
  explicit SignalWatcher(Callback on_signal);
  ~SignalWatcher();

  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // The signal received, or 0.
  int received() const { return received_.load(); }

 private:
  void Loop();

  const Callback on_signal_;
  std::atomic<int> received_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace loadtest::cli

#endif  // LOADTEST_CLI_SIGNAL_WATCHER_H_
