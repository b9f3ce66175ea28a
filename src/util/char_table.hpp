#pragma once

#include <array>
#include <string_view>

namespace korehook {

// A table of which bytes are among `chars`, for character classes checked byte by byte on hot
// paths (a lookup instead of a search of the class per character).
constexpr std::array<bool, 256> char_table(std::string_view chars) {
  std::array<bool, 256> table{};
  for (const char c : chars) table[static_cast<unsigned char>(c)] = true;
  return table;
}

}  // namespace korehook
