#include "parse/text_map.h"

namespace mmp {

TextMap::TextMap(std::string_view text, uint32_t base) : base_(base) {
  bool ascii = true;
  for (unsigned char c : text)
    if (c >= 0x80) ascii = false;
  if (ascii) return;
  for (uint32_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts_.push_back(i);
  starts_.push_back(text.size());
}

uint32_t TextMap::byteOffset(size_t cp) const {
  if (starts_.empty()) return base_ + cp;
  if (cp >= starts_.size()) return base_ + starts_.back();
  return base_ + starts_[cp];
}

std::optional<uint32_t> TextMap::invalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c == 0) return i;  // NUL cannot appear in a policy
      ++i;
      continue;
    }
    size_t n;
    if ((c >> 5) == 0x6) n = 1;
    else if ((c >> 4) == 0xE) n = 2;
    else if ((c >> 3) == 0x1E) n = 3;
    else return i;
    if (i + n >= s.size()) return i;
    uint32_t cp = c & (0x3F >> n);
    for (size_t k = 1; k <= n; ++k) {
      unsigned char d = s[i + k];
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    static const uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
    if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n + 1;
  }
  return std::nullopt;
}

}  // namespace mmp
