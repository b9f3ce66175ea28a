#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "korehook/json/minify.hpp"

using korehook::json::minify;

namespace {

// The raw text of the top-level member `key` of minified object text, as the API reads it.
std::optional<std::string_view> raw_member(std::string_view object_text, std::string_view key) {
  const auto members = korehook::json::raw_members(object_text);
  const std::string_view* value = korehook::json::find_member(members, key);
  return value ? std::optional<std::string_view>(*value) : std::nullopt;
}

std::string ok(std::string_view in) {
  auto r = minify(in);
  INFO("input: " << in << (r.ok() ? "" : " error: " + r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("minify: KORE's example", "[json]") {
  CHECK(ok(R"({ "field1": "value1", "field2": "value2"})") ==
        R"({"field1":"value1","field2":"value2"})");
}

TEST_CASE("minify: removes only insignificant whitespace", "[json]") {
  CHECK(ok(" \t\r\n{ \"a\" :\n [ 1 , 2 ,\t3 ] , \"b\" : { } , \"c\":[ ] }\n ") ==
        R"({"a":[1,2,3],"b":{},"c":[]})");
  CHECK(ok(R"({"s": "  spaced  out  "})") == R"({"s":"  spaced  out  "})");
  CHECK(ok(R"(  "top level string"  )") == R"("top level string")");
  CHECK(ok(" 42 ") == "42");
  CHECK(ok("true") == "true");
  CHECK(ok(" null") == "null");
}

TEST_CASE("minify: keeps number spelling, escapes and key order byte-for-byte", "[json]") {
  CHECK(ok(R"({"price": 1.50})") == R"({"price":1.50})");
  CHECK(ok(R"([1.0, -0, 0.000, 1E+2, 1e-7, -12.340e10, 123456789012345678901234567890])") ==
        R"([1.0,-0,0.000,1E+2,1e-7,-12.340e10,123456789012345678901234567890])");
  CHECK(ok(R"({"name": "\u00e9"})") == R"({"name":"\u00e9"})");
  CHECK(ok(R"({"e": "é"})") == R"({"e":"é"})");
  CHECK(ok(R"(["\"\\\/\b\f\n\r\t", "\ud83d\ude00", "😀"])") ==
        R"(["\"\\\/\b\f\n\r\t","\ud83d\ude00","😀"])");
  CHECK(ok(R"({"z": 1, "a": 2, "m": 3})") == R"({"z":1,"a":2,"m":3})");
}

TEST_CASE("minify: duplicate keys are kept as sent", "[json]") {
  CHECK(ok(R"({"a": 1, "a": 2})") == R"({"a":1,"a":2})");
}

TEST_CASE("minify: rejects invalid JSON", "[json]") {
  for (std::string bad : {
           std::string(""),
           std::string("   "),
           std::string("{"),
           std::string("}"),
           std::string("[1,]"),
           std::string("[,1]"),
           std::string(R"({"a":1,})"),
           std::string(R"({"a" 1})"),
           std::string(R"({a:1})"),
           std::string(R"({'a':1})"),
           std::string(R"({"a":1 "b":2})"),
           std::string("[1 2]"),
           std::string("01"),
           std::string("[01]"),
           std::string("+1"),
           std::string(".5"),
           std::string("1."),
           std::string("1e"),
           std::string("1e+"),
           std::string("-"),
           std::string("--1"),
           std::string("0x10"),
           std::string("NaN"),
           std::string("Infinity"),
           std::string("tru"),
           std::string("True"),
           std::string("nul"),
           std::string("nulll"),
           std::string(R"("unterminated)"),
           std::string("\"tab\there\""),
           std::string("\"new\nline\""),
           std::string(R"("\x41")"),
           std::string(R"("\u12")"),
           std::string(R"("\u12G4")"),
           std::string(R"("\ud83d")"),
           std::string(R"("\ud83dx")"),
           std::string(R"("\ude00")"),
           std::string(R"("\ud83d\u0041")"),
           std::string("{} {}"),
           std::string("{}x"),
           std::string("[1] ,"),
           std::string("\xef\xbb\xbf{}"),  // byte order mark
           std::string("[1]\0", 4),
           std::string("\f[]"),  // form feed is not JSON whitespace
           std::string("/* c */ {}"),
       }) {
    INFO("input: " << bad);
    const auto r = minify(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().code == "invalid_json");
  }
}

TEST_CASE("minify: rejects invalid UTF-8", "[json]") {
  for (std::string bad : {
           std::string("\"\x80\""),              // lone continuation byte
           std::string("\"\xc3\""),              // truncated 2-byte sequence
           std::string("\"\xc3\x28\""),          // bad continuation
           std::string("\"\xc0\xaf\""),          // overlong '/'
           std::string("\"\xe0\x80\xaf\""),      // overlong 3-byte
           std::string("\"\xed\xa0\x80\""),      // UTF-16 surrogate
           std::string("\"\xf0\x82\x82\xac\""),  // overlong 4-byte
           std::string("\"\xf4\x90\x80\x80\""),  // above U+10FFFF
           std::string("\"\xf5\x80\x80\x80\""), std::string("\"\xff\""),
           std::string("\"\xe2\x82"),  // truncated at end of input
           std::string("[\xc3\xa9]"),  // valid UTF-8 but outside a string
       }) {
    INFO("input bytes: " << bad.size());
    CHECK_FALSE(minify(bad).ok());
  }
  CHECK(ok("\"\xf4\x8f\xbf\xbf\"") == "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF
  CHECK(ok("\"\xef\xbf\xbf\"") == "\"\xef\xbf\xbf\"");          // U+FFFF
}

TEST_CASE("minify: depth limit", "[json]") {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(minify(nested(64)).ok());
  CHECK_FALSE(minify(nested(65)).ok());
  CHECK(minify(nested(3), 3).ok());
  CHECK_FALSE(minify(nested(4), 3).ok());
  CHECK_FALSE(minify(R"({"a":{"b":{"c":{}}}})", 3).ok());
  CHECK(minify(R"({"a":{"b":{"c":1}}})", 3).ok());
  CHECK(minify("1", 0).ok());
  CHECK_FALSE(minify("[]", 0).ok());
  // Far deeper than any call stack could take, with a generous limit: no crash.
  CHECK(minify(nested(200'000), 1'000'000).ok());
  CHECK_FALSE(minify(std::string(200'000, '['), 1'000'000).ok());
}

TEST_CASE("minify: error message carries the position", "[json]") {
  const auto r = minify("{\n  \"a\": 1,\n  \"b\": x\n}");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("line 3") != std::string::npos);
  CHECK(r.error().message.find("column 8") != std::string::npos);
  const auto deep = minify(std::string(65, '['));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().message.find("64") != std::string::npos);
}

TEST_CASE("raw_members and find_member give the raw text of a top-level member", "[json]") {
  const std::string obj =
      ok(R"({"type": "sim.activated", "data": {"iccid": "89", "n": [1, {"x": "}"}]},)"
         R"( "price": 1.50, "ok": true, "nothing": null, "s": "a,b}"})");
  CHECK(raw_member(obj, "type") == std::string_view(R"("sim.activated")"));
  CHECK(raw_member(obj, "data") == std::string_view(R"({"iccid":"89","n":[1,{"x":"}"}]})"));
  CHECK(raw_member(obj, "price") == std::string_view("1.50"));
  CHECK(raw_member(obj, "ok") == std::string_view("true"));
  CHECK(raw_member(obj, "nothing") == std::string_view("null"));
  CHECK(raw_member(obj, "s") == std::string_view(R"("a,b}")"));
  CHECK_FALSE(raw_member(obj, "iccid"));  // nested keys are not top-level members
  CHECK_FALSE(raw_member(obj, "x"));
  CHECK_FALSE(raw_member(obj, "missing"));
}

TEST_CASE("raw_members and find_member: escaped keys, duplicates and non-objects", "[json]") {
  CHECK(raw_member(ok(R"({"t\u0079pe": 1})"), "type") == std::string_view("1"));
  CHECK(raw_member(ok(R"({"a\"b": 2})"), "a\"b") == std::string_view("2"));
  CHECK(raw_member(ok(R"({"caf\u00e9": 3})"), "café") == std::string_view("3"));
  CHECK(raw_member(ok(R"({"\ud83d\ude00": 4})"), "😀") == std::string_view("4"));
  CHECK(raw_member(ok(R"({"k\\": 5, "k": 6})"), "k") == std::string_view("6"));
  CHECK(raw_member(ok(R"({"a": 1, "a": 2})"), "a") == std::string_view("2"));
  CHECK_FALSE(raw_member(ok("{}"), "a"));
  CHECK_FALSE(raw_member(ok(R"(["a", 1])"), "a"));
  CHECK_FALSE(raw_member("", "a"));
}

TEST_CASE("raw_members lists the top-level members in order, keys decoded", "[json]") {
  using korehook::json::raw_members;
  const std::string obj = ok(
      R"({"type": "a.b", "d\u0061ta": {"k": "v", "n": [1, "}"]}, "type": null, "x\"y": -0.5e1})");
  const auto members = raw_members(obj);
  REQUIRE(members.size() == 4);
  CHECK(members[0].key == "type");
  CHECK(members[0].value == R"("a.b")");
  CHECK(members[1].key == "data");
  CHECK(members[1].value == R"({"k":"v","n":[1,"}"]})");
  CHECK(members[2].key == "type");  // duplicates are all listed, in order
  CHECK(members[2].value == "null");
  CHECK(members[3].key == "x\"y");
  CHECK(members[3].value == "-0.5e1");
  CHECK(raw_members(ok("{}")).empty());
  CHECK(raw_members(ok("[1]")).empty());
}

TEST_CASE("raw_string_value decodes a string token", "[json]") {
  using korehook::json::raw_string_value;
  CHECK(raw_string_value(R"("plain")") == "plain");
  CHECK(raw_string_value(R"("")").empty());
  CHECK(raw_string_value(R"("a\"b\\c\/d\n\t")") == "a\"b\\c/d\n\t");
  CHECK(raw_string_value(R"("caf\u00e9 \ud83d\ude00")") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(raw_string_value(R"("\u0000")") == std::string(1, '\0'));
}

TEST_CASE("raw_elements splits a minified array into its raw elements", "[json]") {
  using korehook::json::raw_elements;
  const std::string text =
      *korehook::json::minify(R"([ {"a" : [1, 2]}, "x,]", 1.50e3, [], null ])");
  const auto parts = raw_elements(text);
  REQUIRE(parts.size() == 5);
  CHECK(parts[0] == R"({"a":[1,2]})");
  CHECK(parts[1] == R"("x,]")");
  CHECK(parts[2] == "1.50e3");  // the number's spelling is kept
  CHECK(parts[3] == "[]");
  CHECK(parts[4] == "null");
  CHECK(raw_elements("[]").empty());
}

// Strings are scanned sixteen, then eight bytes at a time: every byte that needs a look must
// be found whatever its offset in a block, and long plain runs must come through unchanged.
TEST_CASE("minify and raw_members: special bytes at every offset of a long string", "[json]") {
  const std::string plain(72, 'a');
  for (std::size_t at = 0; at <= plain.size(); ++at) {
    INFO("offset " << at);
    const std::string head = plain.substr(0, at);
    const std::string tail = plain.substr(at);
    // Valid: an escaped quote, an escaped backslash, two- and four-byte UTF-8.
    for (const std::string_view special :
         {"\\\"", "\\\\", "\xC3\xA9", "\xF0\x9F\x98\x80", "\\u00e9"}) {
      const std::string value = "\"" + head + std::string(special) + tail + "\"";
      const std::string text = "{\"s\":" + value + ",\"n\":1}";
      auto minified = korehook::json::minify(text, 64);
      REQUIRE(minified.ok());
      CHECK(*minified == text);
      CHECK(raw_member(text, "n") == std::optional<std::string_view>("1"));
      CHECK(raw_member(text, "s") == std::optional<std::string_view>(value));
    }
    // Invalid: a control character, a lone continuation byte, a byte never in UTF-8, and the
    // string's end cut off.
    for (const std::string_view bad : {"\x01", "\n", "\x80", "\xFF"}) {
      CHECK_FALSE(
          korehook::json::minify("{\"s\":\"" + head + std::string(bad) + tail + "\"}", 64).ok());
    }
    CHECK_FALSE(korehook::json::minify("{\"s\":\"" + head, 64).ok());
  }
}
