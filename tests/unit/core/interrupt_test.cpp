// core/interrupt.h: checkpoints turn a received signal into Interrupted
// (which kestrel::Error handlers must not swallow), with 128 + signal as
// the exit status; the temporary-file registry the second-signal path uses.
#include <gtest/gtest.h>

#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/interrupt.h"

namespace kestrel {
namespace {

class InterruptTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::reset_interrupt(); }
  void TearDown() override { testing::reset_interrupt(); }
};

TEST_F(InterruptTest, CheckpointIsSilentUntilASignal) {
  EXPECT_EQ(interrupt_signal(), 0);
  EXPECT_NO_THROW(checkpoint());
  EXPECT_NO_THROW(checkpoint("write"));
}

TEST_F(InterruptTest, CheckpointThrowsInterruptedWithTheExitStatus) {
  testing::simulate_interrupt(SIGINT);
  try {
    checkpoint();
    FAIL() << "expected Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), SIGINT);
    EXPECT_EQ(e.exit_status(), 130);
    EXPECT_STREQ(e.what(), "interrupted by SIGINT");
  }
  testing::simulate_interrupt(SIGTERM);
  try {
    checkpoint();
    FAIL() << "expected Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.exit_status(), 143);
  }
}

TEST_F(InterruptTest, ErrorHandlersDoNotSwallowIt) {
  testing::simulate_interrupt(SIGTERM);
  bool swallowed = false, propagated = false;
  try {
    try {
      checkpoint();
    } catch (const Error&) {
      swallowed = true;
    }
  } catch (const Interrupted&) {
    propagated = true;
  }
  EXPECT_FALSE(swallowed);
  EXPECT_TRUE(propagated);
}

TEST_F(InterruptTest, HandlerRecordsTheFirstSignal) {
  install_interrupt_handlers();
  ::raise(SIGTERM);  // first signal: recorded, the process goes on
  EXPECT_EQ(interrupt_signal(), SIGTERM);
  EXPECT_THROW(checkpoint(), Interrupted);
  // Later runs of this binary keep the default disposition.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
}

TEST_F(InterruptTest, SignalNames) {
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGHUP), "signal " + std::to_string(SIGHUP));
}

TEST_F(InterruptTest, TempRegistrySlotsAreReused) {
  std::vector<int> slots;
  for (int i = 0; i < 8; ++i) slots.push_back(register_temp_file("/tmp/x" + std::to_string(i)));
  for (int s : slots) EXPECT_GE(s, 0);
  EXPECT_EQ(std::set<int>(slots.begin(), slots.end()).size(), slots.size());
  for (int s : slots) unregister_temp_file(s);
  EXPECT_EQ(register_temp_file("/tmp/y"), slots.front());  // a freed slot is taken again
  unregister_temp_file(slots.front());
  EXPECT_EQ(register_temp_file(std::string(5000, 'a')), -1);  // too long for a slot
  unregister_temp_file(-1);  // harmless
}

}  // namespace
}  // namespace kestrel
