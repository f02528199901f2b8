// Clean interruption by SIGINT / SIGTERM, and the temporary files it must not
// leave behind.
//
// The CLI installs the handlers once (install_interrupt_handlers). The first
// signal only records itself: long loops (quantize, perplexity, imatrix,
// synth, bench, generation) call checkpoint() at safe points, which throws
// Interrupted; unwinding then runs the destructors that remove temporary
// files, and main() exits with 128 + the signal number (130 for SIGINT, 143
// for SIGTERM). A second signal means "now": the handler removes every
// registered temporary file itself (unlink is async-signal-safe) and calls
// _exit at once. Library code that never installs the handlers sees no
// change: interrupt_signal() stays 0.
//
// KESTREL_PAUSE_AT=<phase> (a testing aid, see docs/hardening.md) makes the
// named checkpoint announce itself on stderr and wait there for a signal, so
// a test can interrupt a command at an exact moment; KESTREL_PAUSE_AT=
// <phase>:hold waits there for good, so only a second signal ends it.
#pragma once

#include <exception>
#include <string>

namespace kestrel {

// Thrown by checkpoint() once a signal has arrived. Deliberately not a
// kestrel::Error: code that catches Error to recover must not swallow it.
class Interrupted : public std::exception {
 public:
  explicit Interrupted(int signal) : signal_(signal) {}
  int signal() const { return signal_; }
  int exit_status() const { return 128 + signal_; }
  const char* what() const noexcept override;

 private:
  int signal_;
};

// Installs the SIGINT and SIGTERM handlers described above.
void install_interrupt_handlers();

// The first signal received (SIGINT or SIGTERM), or 0.
int interrupt_signal();

// Throws Interrupted when a signal has arrived. `phase` names the point for
// KESTREL_PAUSE_AT; nullptr never pauses.
void checkpoint(const char* phase = nullptr);

// Forgets a received signal, so the next one counts as a first signal
// again: `kestrel chat` stops the current answer on Ctrl-C and goes on.
void acknowledge_interrupt();

// "SIGINT", "SIGTERM" or "signal N".
std::string signal_name(int signal);

// Temporary files the second-signal path removes. register_temp_file
// returns a slot (or -1 when all slots are busy: the file is then only
// removed by its owner's destructor); release the slot once the file is
// renamed or removed.
int register_temp_file(const std::string& path);
void unregister_temp_file(int slot);

namespace testing {
// Forgets any received signal (unit tests of checkpoint()).
void reset_interrupt();
// Records `signal` as if the handler had run.
void simulate_interrupt(int signal);
}  // namespace testing

}  // namespace kestrel
