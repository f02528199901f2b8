// tools/text_escape.h: token pieces and metadata shown on a terminal.
#include <gtest/gtest.h>

#include "text_escape.h"

namespace kestrel::cli {
namespace {

TEST(TextEscape, PrintableTextIsUnchanged) {
  EXPECT_EQ(escape_text("Hello, world"), "Hello, world");
  EXPECT_EQ(escape_text("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80");
}

TEST(TextEscape, ControlCharactersAreVisible) {
  EXPECT_EQ(escape_text("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escape_text(std::string("\x1b[31mred\x07\x7f", 10)), "\\x1b[31mred\\x07\\x7f");
  EXPECT_EQ(escape_text(std::string("\0", 1)), "\\x00");
  EXPECT_EQ(escape_text("back\\slash 'q' \"d\""), "back\\\\slash \\'q\\' \"d\"");
  EXPECT_EQ(escape_text("\"d\" 'q'", '"'), "\\\"d\\\" 'q'");
  EXPECT_EQ(escape_text("\xc2\x85"), "\\xc2\\x85");  // U+0085, a C1 control
}

TEST(TextEscape, InvalidUtf8IsShownAsBytes) {
  EXPECT_EQ(escape_text("\xe4\xb8"), "\\xe4\\xb8");        // half a character (a byte-fallback piece)
  EXPECT_EQ(escape_text("\xff"), "\\xff");
  EXPECT_EQ(escape_text("\xc0\xaf"), "\\xc0\\xaf");        // overlong '/'
  EXPECT_EQ(escape_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(escape_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(escape_text("ok\x80ok"), "ok\\x80ok");
}

}  // namespace
}  // namespace kestrel::cli
