#include "korehook/json/minify.hpp"

#include "korehook/util/encoding.hpp"
#include "util/words.hpp"

#include <cstdint>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace korehook::json {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

using words::has_byte;
using words::kHighs;
using words::kOnes;
using words::load8;

#if defined(__SSE2__)
// Sixteen bytes at a time (SSE2, part of every x86-64): the index of the first byte from `pos`
// that `stops` flags, or where fewer than 16 bytes are left. The eight-byte loop after it
// stops at once on a flagged byte, and goes on over the last bytes.
template <typename Stops>
std::size_t skip_blocks(std::string_view s, std::size_t pos, Stops stops) {
  while (pos + 16 <= s.size()) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + pos));
    const int mask = _mm_movemask_epi8(stops(v));
    if (mask != 0) return pos + static_cast<std::size_t>(__builtin_ctz(mask));
    pos += 16;
  }
  return pos;
}

__m128i quote_or_backslash(__m128i v) {
  return _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
}
#endif

// Past the bytes from `pos` that a JSON string can hold as they are: printable ASCII other
// than '"' and '\\'. Stops at most 7 bytes short of such a byte.
std::size_t skip_plain_string_bytes(std::string_view s, std::size_t pos) {
#if defined(__SSE2__)
  // A signed compare with 0x20 flags the control characters and every byte from 0x80 (negative
  // as a signed byte): the start of a UTF-8 sequence, which the byte-wise code checks.
  pos = skip_blocks(s, pos, [](__m128i v) {
    return _mm_or_si128(quote_or_backslash(v), _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  });
#endif
  while (pos + 8 <= s.size()) {
    const std::uint64_t w = load8(s.data() + pos);
    const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
    if (((w & kHighs) | below_space | has_byte(w, '"') | has_byte(w, '\\')) != 0) break;
    pos += 8;
  }
  return pos;
}

// Past the bytes from `pos` that are neither '"' nor '\\' (in text already validated).
std::size_t skip_to_quote_or_backslash(std::string_view s, std::size_t pos) {
#if defined(__SSE2__)
  pos = skip_blocks(s, pos, quote_or_backslash);
#endif
  while (pos + 8 <= s.size()) {
    const std::uint64_t w = load8(s.data() + pos);
    if ((has_byte(w, '"') | has_byte(w, '\\')) != 0) break;
    pos += 8;
  }
  return pos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads `XXXX` at `pos`; -1 when not four hex digits.
long read_hex4(std::string_view s, std::size_t pos) {
  if (pos + 4 > s.size()) return -1;
  long v = 0;
  for (std::size_t i = pos; i < pos + 4; ++i) {
    const int h = hex_value(s[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// One pass that validates (RFC 8259, strict UTF-8) and copies every token byte-for-byte,
// dropping only the whitespace between tokens. Nesting is tracked on an explicit stack so
// a deep document cannot exhaust the call stack whatever max_depth is.
class Minifier {
 public:
  Minifier(std::string_view in, int max_depth) : in_(in), max_depth_(max_depth) {
    out_.reserve(in.size());
  }

  Result<std::string> run() {
    if (!parse()) return fail();
    return std::move(out_);
  }

 private:
  bool parse() {
    while (true) {
      if (!value()) return false;
      // After a value: close containers or move on to the next element.
      while (true) {
        skip_ws();
        if (stack_.empty()) {
          if (pos_ != in_.size()) return error("unexpected characters after the JSON value");
          return true;
        }
        if (pos_ == in_.size()) return error("unexpected end of input");
        const char c = in_[pos_];
        const char close = stack_.back() == '{' ? '}' : ']';
        if (c == close) {
          out_.push_back(c);
          ++pos_;
          stack_.pop_back();
          continue;
        }
        if (c != ',') {
          return error(stack_.back() == '{' ? "expected ',' or '}' in object"
                                            : "expected ',' or ']' in array");
        }
        out_.push_back(',');
        ++pos_;
        if (stack_.back() == '{' && !member_key()) return false;
        break;
      }
    }
  }

  // Parses one value; a container is opened (and its first key read) but not finished.
  bool value() {
    while (true) {
      skip_ws();
      if (pos_ == in_.size()) return error("unexpected end of input, expected a value");
      const char c = in_[pos_];
      if (c == '{' || c == '[') {
        if (static_cast<int>(stack_.size()) >= max_depth_) {
          return error("nesting is deeper than " + std::to_string(max_depth_) + " levels");
        }
        stack_.push_back(c);
        out_.push_back(c);
        ++pos_;
        skip_ws();
        const char close = c == '{' ? '}' : ']';
        if (pos_ < in_.size() && in_[pos_] == close) {
          stack_.pop_back();
          out_.push_back(close);
          ++pos_;
          return true;
        }
        if (c == '{' && !member_key()) return false;
        continue;  // the first element of the container
      }
      if (c == '"') return string();
      if (c == '-' || is_digit(c)) return number();
      if (c == 't') return literal("true");
      if (c == 'f') return literal("false");
      if (c == 'n') return literal("null");
      return error("unexpected character, expected a value");
    }
  }

  // `"key":` inside an object.
  bool member_key() {
    skip_ws();
    if (pos_ == in_.size() || in_[pos_] != '"') return error("expected a string as object key");
    if (!string()) return false;
    skip_ws();
    if (pos_ == in_.size() || in_[pos_] != ':') return error("expected ':' after object key");
    out_.push_back(':');
    ++pos_;
    return true;
  }

  bool literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return error("invalid literal");
    out_.append(word);
    pos_ += word.size();
    return true;
  }

  bool number() {
    const std::size_t start = pos_;
    if (in_[pos_] == '-') ++pos_;
    if (pos_ == in_.size() || !is_digit(in_[pos_])) return error("invalid number");
    if (in_[pos_] == '0') {
      ++pos_;  // a leading zero stands alone; `01` fails as a following character
    } else {
      while (pos_ < in_.size() && is_digit(in_[pos_])) ++pos_;
    }
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (pos_ == in_.size() || !is_digit(in_[pos_]))
        return error("invalid number: digit expected after '.'");
      while (pos_ < in_.size() && is_digit(in_[pos_])) ++pos_;
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (pos_ == in_.size() || !is_digit(in_[pos_]))
        return error("invalid number: digit expected in exponent");
      while (pos_ < in_.size() && is_digit(in_[pos_])) ++pos_;
    }
    out_.append(in_.substr(start, pos_ - start));
    return true;
  }

  bool string() {
    const std::size_t start = pos_;
    ++pos_;  // opening quote
    while (true) {
      pos_ = skip_plain_string_bytes(in_, pos_);
      if (pos_ == in_.size()) return error("unterminated string");
      const auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c < 0x20) return error("control character in string (must be escaped)");
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c >= 0x80) {
        if (!utf8_sequence()) return false;
      } else {
        ++pos_;
      }
    }
    out_.append(in_.substr(start, pos_ - start));
    return true;
  }

  bool escape() {
    if (pos_ + 1 == in_.size()) return error("unterminated string");
    const char e = in_[pos_ + 1];
    if (e != 'u') {
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
          e != 't') {
        return error("invalid escape sequence");
      }
      pos_ += 2;
      return true;
    }
    const long unit = read_hex4(in_, pos_ + 2);
    if (unit < 0) return error("invalid \\u escape: four hex digits expected");
    if (unit >= 0xDC00 && unit <= 0xDFFF) return error("unpaired low surrogate in \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      // Receivers decoding a lone surrogate get invalid UTF-8; refuse it up front.
      const long low = (pos_ + 7 < in_.size() && in_[pos_ + 6] == '\\' && in_[pos_ + 7] == 'u')
                           ? read_hex4(in_, pos_ + 8)
                           : -1;
      if (low < 0xDC00 || low > 0xDFFF) return error("unpaired high surrogate in \\u escape");
      pos_ += 12;
      return true;
    }
    pos_ += 6;
    return true;
  }

  bool utf8_sequence() {
    const Utf8Sequence seq = utf8_sequence_at(in_, pos_);
    if (seq.length == 0) {
      return error(seq.truncated ? "invalid UTF-8: truncated sequence" : "invalid UTF-8");
    }
    pos_ += seq.length;
    return true;
  }

  void skip_ws() {
    while (pos_ < in_.size() && is_ws(in_[pos_])) ++pos_;
  }

  bool error(std::string message) {
    error_ = std::move(message);
    return false;
  }

  Error fail() const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < in_.size(); ++i) {
      if (in_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return Error{"invalid_json", "invalid JSON at line " + std::to_string(line) + ", column " +
                                     std::to_string(column) + " (offset " + std::to_string(pos_) +
                                     "): " + error_};
  }

  std::string_view in_;
  int max_depth_;
  std::size_t pos_ = 0;
  std::string out_;
  std::vector<char> stack_;
  std::string error_;
};

// --- raw_members: walks text already validated by minify(), with bounds checks only. ---

// Index just past the string that starts at `pos` (a quote).
std::size_t skip_string(std::string_view s, std::size_t pos) {
  ++pos;
  while (true) {
    pos = skip_to_quote_or_backslash(s, pos);
    if (pos >= s.size() || s[pos] == '"') break;
    pos += (s[pos] == '\\') ? 2 : 1;
  }
  return pos < s.size() ? pos + 1 : s.size();
}

std::size_t skip_value(std::string_view s, std::size_t pos) {
  int depth = 0;
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '"') {
      pos = skip_string(s, pos);
      if (depth == 0) return pos;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return pos;  // end of the enclosing object
      if (--depth == 0) return pos + 1;
    } else if (c == ',' && depth == 0) {
      return pos;
    }
    ++pos;
  }
  return pos;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The decoded text of a string body (between the quotes) validated by minify().
std::string unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      out.push_back(raw[i]);
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        long cp = read_hex4(raw, i + 1);
        if (cp < 0) return out;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          const long low = read_hex4(raw, i + 3);
          if (low < 0) return out;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        append_utf8(out, static_cast<std::uint32_t>(cp));
        break;
      }
      default:
        out.push_back(e);
        break;  // " \ /
    }
  }
  return out;
}

}  // namespace

Result<std::string> minify(std::string_view text, int max_depth) {
  return Minifier(text, max_depth).run();
}

std::vector<RawMember> raw_members(std::string_view object_text) {
  std::vector<RawMember> out;
  if (object_text.size() < 2 || object_text.front() != '{') return out;
  std::size_t pos = 1;
  while (pos < object_text.size() && object_text[pos] == '"') {
    const std::size_t key_end = skip_string(object_text, pos);
    if (key_end < pos + 2 || key_end >= object_text.size() || object_text[key_end] != ':') break;
    const std::string_view raw_key = object_text.substr(pos + 1, key_end - pos - 2);
    const std::size_t value_start = key_end + 1;
    pos = skip_value(object_text, value_start);
    out.push_back(RawMember{
        raw_key.find('\\') == std::string_view::npos ? std::string(raw_key) : unescape(raw_key),
        object_text.substr(value_start, pos - value_start)});
    if (pos >= object_text.size() || object_text[pos] != ',') break;
    ++pos;
  }
  return out;
}

const std::string_view* find_member(const std::vector<RawMember>& members, std::string_view key) {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

std::string raw_string_value(std::string_view token) {
  if (token.size() < 2) return {};
  return unescape(token.substr(1, token.size() - 2));
}

std::vector<std::string_view> raw_elements(std::string_view array_text) {
  std::vector<std::string_view> out;
  if (array_text.size() < 2 || array_text.front() != '[' || array_text[1] == ']') return out;
  std::size_t pos = 1;
  while (pos < array_text.size()) {
    const std::size_t start = pos;
    pos = skip_value(array_text, start);
    out.push_back(array_text.substr(start, pos - start));
    if (pos >= array_text.size() || array_text[pos] != ',') break;
    ++pos;
  }
  return out;
}

}  // namespace korehook::json
