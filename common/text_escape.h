// Text from the system (cgroup names, another process's answer) made safe
// to print: what a terminal or a log reader could take for something else
// is escaped, and invalid UTF-8 is kept recoverable.
#pragma once

#include <string>
#include <string_view>

namespace mmp {

// For a line of text: valid UTF-8 printable characters as they are; `\` and
// `"` backslashed; \n, \r, \t as such; every other control character
// (C0, DEL, C1: ESC, BEL, CSI...) and every byte of invalid UTF-8 as \xNN.
// The original bytes can be recovered by reading the escapes back.
std::string escapeText(std::string_view s);

// Whether `s` is valid UTF-8 throughout.
bool isUtf8(std::string_view s);

// `s` with each byte of invalid UTF-8 replaced by U+FFFD, for a JSON
// string; the exact bytes then go alongside as hexBytes(s).
std::string replaceInvalidUtf8(std::string_view s);

// The bytes of `s` as lowercase hex, two digits a byte.
std::string hexBytes(std::string_view s);

// The length of the valid UTF-8 sequence at s[i], 0 if it is not one.
size_t utf8Length(std::string_view s, size_t i);

}  // namespace mmp
