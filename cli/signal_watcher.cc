#include "cli/signal_watcher.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace loadtest::cli {
namespace {

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // Internal: wakes the watcher to end it.
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(Callback on_signal)
    : on_signal_(std::move(on_signal)) {
  const sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

void SignalWatcher::Loop() {
  const sigset_t set = WatchedSignals();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (signal_number == SIGUSR1) {
      if (done_) return;
      continue;
    }
    if (received_.exchange(signal_number) != 0) {
      // Second signal: the user insists.
      static const char kMessage[] = "\nsecond signal, exiting now\n";
      (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
      _exit(128 + signal_number);
    }
    on_signal_(signal_number);
  }
}

}  // namespace loadtest::cli
