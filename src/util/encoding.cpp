#include "korehook/util/encoding.hpp"
#include "util/words.hpp"

#include <array>
#include <cstdint>

namespace korehook {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_base64_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (std::size_t i = 0; i < kBase64Alphabet.size(); ++i) {
    table[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr std::array<std::int8_t, 256> kBase64Values = make_base64_table();

}  // namespace

std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string hex_lower(std::string_view bytes) {
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHexDigits[b >> 4];
    out[2 * i + 1] = kHexDigits[b & 0x0f];
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(kBase64Alphabet[v >> 18 & 63]);
    out.push_back(kBase64Alphabet[v >> 12 & 63]);
    out.push_back(kBase64Alphabet[v >> 6 & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = byte(i) << 16;
    out.push_back(kBase64Alphabet[v >> 18 & 63]);
    out.push_back(kBase64Alphabet[v >> 12 & 63]);
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out.push_back(kBase64Alphabet[v >> 18 & 63]);
    out.push_back(kBase64Alphabet[v >> 12 & 63]);
    out.push_back(kBase64Alphabet[v >> 6 & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::size_t padding = 0;
  while (padding < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++padding;
  }
  // Padding, when present, must complete the last quantum exactly.
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;

  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    const std::int8_t v = kBase64Values[static_cast<unsigned char>(ch)];
    if (v < 0) return std::nullopt;  // also rejects `=` inside the text and whitespace
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits of the last character are ignored, as common decoders do, so secrets from
  // other tools are accepted as they are.
  return out;
}

Utf8Sequence utf8_sequence_at(std::string_view text, std::size_t pos) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) return {1, 1, false};
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return {0, 1, false};
  }
  Utf8Sequence seq{0, 1, pos + len > text.size()};
  for (std::size_t k = 1; k < len && pos + k < text.size(); ++k) {
    const auto b = static_cast<unsigned char>(text[pos + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return seq;
    seq.prefix = k + 1;
  }
  if (!seq.truncated) seq.length = len;
  return seq;
}

void make_utf8(std::string& text) {
  // What a receiver sends is nearly always ASCII: runs of it are skipped eight bytes at a time.
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && (words::load8(text.data() + i) & words::kHighs) == 0) {
      i += 8;
      continue;
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_at(text, i).length;
    if (len == 0) break;
    i += len;
  }
  if (i == n) return;  // well-formed: nothing to copy
  std::string out(text, 0, i);
  while (i < text.size()) {
    const Utf8Sequence seq = utf8_sequence_at(text, i);
    if (seq.length == 0) {
      out += "\xEF\xBF\xBD";
      i += seq.prefix;
    } else {
      out.append(text, i, seq.length);
      i += seq.length;
    }
  }
  text = std::move(out);
}

namespace {

bool needs_json_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The position of the first byte from `i` on that needs an escape, or text.size(). Words that
// need none are skipped eight bytes at a time; the byte-wise loop finds the byte itself.
std::size_t next_json_escape(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t w = words::load8(text.data() + i);
    if (words::has_byte_below(w, 0x20) | words::has_byte(w, '"') | words::has_byte(w, '\\')) {
      break;
    }
  }
  while (i < n && !needs_json_escape(static_cast<unsigned char>(text[i]))) ++i;
  return i;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t n = text.size();
  out.reserve(out.size() + n + 2);
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = next_json_escape(text, 0); i < n; i = next_json_escape(text, run)) {
    out.append(text.data() + run, i - run);
    run = i + 1;
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default: {
        const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escape, sizeof escape);
      }
    }
  }
  out.append(text.data() + run, n - run);
  out += '"';
}

}  // namespace korehook
