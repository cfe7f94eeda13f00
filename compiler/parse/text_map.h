// Maps ANTLR's code-point indices back to byte offsets in the source.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mmp {

class TextMap {
public:
  // `base` is the byte offset of `text` in its file.
  TextMap(std::string_view text, uint32_t base);
  uint32_t byteOffset(size_t codePoint) const;

  // The byte offset of the first invalid UTF-8 sequence, if any.
  static std::optional<uint32_t> invalidUtf8(std::string_view text);

private:
  uint32_t base_;
  std::vector<uint32_t> starts_;  // empty when the text is ASCII
};

}  // namespace mmp
