// Signal handling and temporary-file cleanup (interrupt.h).
//
// Everything the handler touches is a lock-free atomic or a fixed buffer
// written before its slot is published, so the handler stays
// async-signal-safe: it only reads atomics, calls unlink() and _exit().
#include "core/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace kestrel {
namespace {

std::atomic<int> g_signal{0};

constexpr int kSlots = 32;
constexpr size_t kPathMax = 4096;
struct Slot {
  std::atomic<bool> used{false};
  char path[kPathMax];
};
Slot g_slots[kSlots];
std::atomic<bool> g_paused{false};

void remove_registered_files() {
  for (Slot& s : g_slots) {
    if (s.used.load(std::memory_order_acquire)) unlink(s.path);
  }
}

extern "C" void on_signal(int sig) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, sig)) return;  // first: checkpoints stop the work
  remove_registered_files();                                // second: leave now
  _exit(128 + sig);
}

}  // namespace

const char* Interrupted::what() const noexcept {
  return signal_ == SIGTERM ? "interrupted by SIGTERM" : signal_ == SIGINT ? "interrupted by SIGINT" : "interrupted";
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a read of -f /dev/stdin is not cut short by the first signal
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

void checkpoint(const char* phase) {
  if (phase != nullptr && g_signal.load() == 0 && !g_paused.load()) {
    const char* want = std::getenv("KESTREL_PAUSE_AT");
    const size_t n = std::strlen(phase);
    // "<phase>:hold" ignores the first signal, so only the second-signal
    // path (remove the temporary files, _exit) can end the process.
    const bool match = want != nullptr && std::strncmp(want, phase, n) == 0 &&
                       (want[n] == '\0' || std::strcmp(want + n, ":hold") == 0);
    if (match && !g_paused.exchange(true)) {
      const bool hold = want[n] != '\0';
      std::fprintf(stderr, "kestrel: paused at %s (KESTREL_PAUSE_AT)\n", phase);
      std::fflush(stderr);
      // Polling, not pause(): a signal landing between the test and the
      // wait would otherwise be missed and the process would hang.
      while (hold || g_signal.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (const int sig = g_signal.load(); sig != 0) throw Interrupted(sig);
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

int register_temp_file(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    if (s.used.load(std::memory_order_acquire)) continue;
    // Single-threaded registration (the CLI's main thread), so a plain
    // check-then-set cannot race with another registration.
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    s.used.store(true, std::memory_order_release);
    return i;
  }
  return -1;
}

void unregister_temp_file(int slot) {
  if (slot >= 0 && slot < kSlots) g_slots[slot].used.store(false, std::memory_order_release);
}

void acknowledge_interrupt() { g_signal.store(0); }

namespace testing {
void reset_interrupt() {
  g_signal.store(0);
  g_paused.store(false);
}
void simulate_interrupt(int signal) { g_signal.store(signal); }
}  // namespace testing

}  // namespace kestrel
