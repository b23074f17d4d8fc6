#include "protocol/peer_text.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace loadtest::protocol {
namespace {

// The length of the valid UTF-8 sequence at text[i] that is not a control
// character (C1: U+0080..U+009F), or 0.
size_t PrintableUtf8Length(std::string_view text, size_t i) {
  const auto byte = [&text](size_t k) {
    return static_cast<uint8_t>(text[k]);
  };
  const uint8_t lead = byte(i);
  size_t length;
  uint32_t code;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  // Overlong forms, surrogates, beyond U+10FFFF, and C1 controls.
  if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
      (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff ||
      (code >= 0x80 && code <= 0x9f)) {
    return 0;
  }
  return length;
}

}  // namespace

std::string PeerText(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    std::string piece;
    size_t consumed = 1;
    if (c >= 0x20 && c < 0x7f) {
      piece.assign(1, static_cast<char>(c));
    } else if (c == '\n') {
      piece = "\\n";
    } else if (c == '\r') {
      piece = "\\r";
    } else if (c == '\t') {
      piece = "\\t";
    } else if (c == 0x1b) {
      piece = "\\e";
    } else if (size_t n = c >= 0x80 ? PrintableUtf8Length(text, i) : 0; n > 0) {
      piece.assign(text.substr(i, n));
      consumed = n;
    } else {
      piece = absl::StrFormat("\\x%02x", c);
    }
    if (out.size() + piece.size() > max_bytes) {
      absl::StrAppend(&out, "... (", text.size(), " bytes)");
      return out;
    }
    out += piece;
    i += consumed;
  }
  return out;
}

bool IsPrintableText(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace loadtest::protocol
