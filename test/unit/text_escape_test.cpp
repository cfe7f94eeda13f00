// Text from the system made safe to print (common/text_escape).
#include "text_escape.h"

#include <gtest/gtest.h>

namespace mmp {
namespace {

TEST(EscapeText, KeepsPrintableUtf8) {
  EXPECT_EQ(escapeText("web/app-1.scope"), "web/app-1.scope");
  EXPECT_EQ(escapeText("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
}

TEST(EscapeText, EscapesWhatATerminalWouldObey) {
  EXPECT_EQ(escapeText("a\rb\nc\td"), "a\\rb\\nc\\td");
  EXPECT_EQ(escapeText("\x1b]0;x\x07\x1b[2J"), "\\x1b]0;x\\x07\\x1b[2J");
  EXPECT_EQ(escapeText("\x7f"), "\\x7f");
  EXPECT_EQ(escapeText("\xc2\x9b"), "\\xc2\\x9b");  // C1 CSI
  EXPECT_EQ(escapeText("say \"hi\" \\"), "say \\\"hi\\\" \\\\");
}

TEST(EscapeText, EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(escapeText("a\xff\xfe"), "a\\xff\\xfe");
  EXPECT_EQ(escapeText("\xc3"), "\\xc3");          // truncated
  EXPECT_EQ(escapeText("\xc0\xaf"), "\\xc0\\xaf");  // overlong
  EXPECT_EQ(escapeText("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(Utf8, InvalidBytesAreReplacedAndKeptAsHex) {
  EXPECT_TRUE(isUtf8("caf\xc3\xa9"));
  EXPECT_FALSE(isUtf8("a\xff"));
  EXPECT_EQ(replaceInvalidUtf8("a\xff" "b"), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(hexBytes("a\xff"), "61ff");
}

}  // namespace
}  // namespace mmp
