#include "text_escape.h"

#include <cstdint>
#include <cstdio>

namespace mmp {

namespace {

std::string hexEscape(const char* form, unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, form, value);
  return buf;
}

}  // namespace

size_t utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b = byte(i);
  if (b < 0x80) return 1;
  size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
  if (n == 0 || b > 0xf4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  uint8_t c = byte(i + 1);
  if (b == 0xe0 && c < 0xa0) return 0;  // overlong
  if (b == 0xed && c >= 0xa0) return 0;  // a surrogate
  if (b == 0xf0 && c < 0x90) return 0;  // overlong
  if (b == 0xf4 && c >= 0x90) return 0;  // past U+10FFFF
  return n;
}

std::string escapeText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    size_t n = utf8Length(s, i);
    bool c1 = n == 2 && b == 0xc2 && static_cast<uint8_t>(s[i + 1]) < 0xa0;  // U+0080..U+009F
    if (n > 1 && !c1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (c1) {
      out += hexEscape("\\xc2\\x%02x", static_cast<uint8_t>(s[i + 1]));
      i += 2;
      continue;
    }
    switch (b) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (b < 0x20 || b >= 0x7f) out += hexEscape("\\x%02x", b);
        else out += static_cast<char>(b);
    }
    ++i;
  }
  return out;
}

bool isUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8Length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string replaceInvalidUtf8(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8Length(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string hexBytes(std::string_view s) {
  std::string out;
  for (char c : s) out += hexEscape("%02x", static_cast<uint8_t>(c));
  return out;
}

}  // namespace mmp
