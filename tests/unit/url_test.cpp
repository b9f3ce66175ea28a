#include <catch2/catch.hpp>

#include <vector>

#include <string>

#include "korehook/net/url.hpp"

using korehook::net::parse_https_url;

TEST_CASE("parse_https_url: a plain URL", "[url]") {
  const auto u = parse_https_url("https://Hooks.Example.com/in/v1?tenant=7&x=%20#frag");
  REQUIRE(u.ok());
  CHECK(u->url == "https://Hooks.Example.com/in/v1?tenant=7&x=%20#frag");
  CHECK(u->host == "hooks.example.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/in/v1?tenant=7&x=%20");
  CHECK(u->host_header == "hooks.example.com");
  CHECK(u->origin() == "hooks.example.com:443");
}

TEST_CASE("parse_https_url: defaults and ports", "[url]") {
  auto u = parse_https_url("https://testendpoint.com");
  REQUIRE(u.ok());
  CHECK(u->target == "/");
  CHECK(u->port == 443);

  u = parse_https_url("https://testendpoint.com?foo1=bar1&foo2=bar2");
  REQUIRE(u.ok());
  CHECK(u->target == "/?foo1=bar1&foo2=bar2");

  u = parse_https_url("https://testendpoint.com#cbs=kore");
  REQUIRE(u.ok());
  CHECK(u->target == "/");

  u = parse_https_url("https://example.com:8443/hook");
  REQUIRE(u.ok());
  CHECK(u->port == 8443);
  CHECK(u->host_header == "example.com:8443");
  CHECK(u->origin() == "example.com:8443");

  u = parse_https_url("https://example.com:443/");
  REQUIRE(u.ok());
  CHECK(u->host_header == "example.com");

  u = parse_https_url("https://example.com:65535/");
  REQUIRE(u.ok());
  CHECK(u->port == 65535);

  u = parse_https_url("HTTPS://example.com/");
  REQUIRE(u.ok());
  CHECK(u->host == "example.com");
}

TEST_CASE("parse_https_url: IP literals", "[url]") {
  auto u = parse_https_url("https://127.0.0.1:9443/x");
  REQUIRE(u.ok());
  CHECK(u->host == "127.0.0.1");
  CHECK(u->host_header == "127.0.0.1:9443");
  CHECK(u->origin() == "127.0.0.1:9443");

  u = parse_https_url("https://[::1]:9443/x");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->host_header == "[::1]:9443");
  CHECK(u->origin() == "::1:9443");

  u = parse_https_url("https://[2001:DB8::1]/");
  REQUIRE(u.ok());
  CHECK(u->host == "2001:db8::1");
  CHECK(u->host_header == "[2001:db8::1]");
}

TEST_CASE("parse_https_url: rejects what SPEC §5 forbids", "[url]") {
  const std::string long_url = "https://example.com/" + std::string(2048, 'a');
  for (std::string bad : {
           std::string("http://example.com/"),
           std::string("ftp://example.com/"),
           std::string("//example.com/"),
           std::string("example.com"),
           std::string("https:example.com"),
           std::string("https:///path"),
           std::string("https://"),
           std::string("https://user@example.com/"),
           std::string("https://user:pass@example.com/"),
           std::string("https://@example.com/"),
           std::string("https://example.com/a b"),
           std::string("https://example.com/a\r\nHost: evil"),
           std::string("https://example.com/\t"),
           std::string("https://exa\tmple.com/"),
           std::string("https://example.com/\0x", 22),
           std::string("https://example.com\\@evil.com/"),
           std::string("https://example.com:/"),
           std::string("https://example.com:0/"),
           std::string("https://example.com:65536/"),
           std::string("https://example.com:99999999999/"),
           std::string("https://example.com:-1/"),
           std::string("https://example.com:44a/"),
           std::string("https://exam%70le.com/"),
           std::string("https://example..com/"),
           std::string("https://example.com./"),
           std::string("https://ex!ample.com/"),
           std::string("https://[v1.fe80::a]/"),
           std::string("https://[fe80::1%25eth0]/"),
           std::string("https://[::1/"),
           std::string("https://exämple.com/"),
           std::string("https://example.com/%zz"),
           std::string("https://example.com/%4"),
           std::string("https://example.com/?x=%2"),
           std::string("https://example.com:443abc"),
           std::string("https://example.com:443:443/"),
           std::string("https://[::1]x/"),
           std::string("https://[::1]:/"),
           std::string("https://1.2.3.4.5/"),
           std::string("https://256.0.0.1/"),
           std::string("https://4294967296/"),
           std::string("https://127.16777216/"),
           std::string("https://09.0.0.1/"),
           std::string("https://a.0x/"),
           std::string("https://%31%32%37.0.0.1/"),
           std::string("https://127.0.0.1%2F/"),
           std::string("javascript:alert(1)"),
           std::string("file:///etc/passwd"),
           std::string("HTTP://example.com/"),
           std::string("https://example.com/<script>"),
           std::string("https://example.com/\"q\""),
           std::string("https://example.com/{x}"),
           std::string("https://example.com/a|b"),
           std::string("https://example.com/#a#b"),
           std::string("https://example.com/`"),
           std::string(""),
           long_url,
       }) {
    INFO("url: " << bad);
    const auto r = parse_https_url(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().code == "invalid_url");
  }
}

TEST_CASE("parse_https_url: RFC 3986 characters pass through unchanged", "[url]") {
  const auto u =
      parse_https_url("https://a-b_c.example.com/p;x=1/~u/%2F:@!$&'()*+,=?q=a/b?c&d=%7E");
  REQUIRE(u.ok());
  CHECK(u->host == "a-b_c.example.com");
  CHECK(u->target == "/p;x=1/~u/%2F:@!$&'()*+,=?q=a/b?c&d=%7E");
  const auto empty_query = parse_https_url("https://example.com/a?");
  REQUIRE(empty_query.ok());
  CHECK(empty_query->target == "/a?");
  const auto query_only = parse_https_url("https://example.com?x=1#f?g");
  REQUIRE(query_only.ok());
  CHECK(query_only->target == "/?x=1");
}

TEST_CASE("parse_https_url: length limit is 2048 characters", "[url]") {
  const std::string base = "https://example.com/";
  CHECK(parse_https_url(base + std::string(2048 - base.size(), 'a')).ok());
  CHECK_FALSE(parse_https_url(base + std::string(2049 - base.size(), 'a')).ok());
  // The limit is on what is typed: a 2,048-character URL whose normal form is longer
  // (host `1` is 0.0.0.1, the empty path becomes `/`) is accepted.
  const std::string short_host = "https://1?";
  const auto url = parse_https_url(short_host + std::string(2048 - short_host.size(), 'a'));
  REQUIRE(url.ok());
  CHECK(url->host == "0.0.0.1");
  CHECK(url->target.size() == 2048 - short_host.size() + 2);
}

TEST_CASE("parse_https_url: error messages say what is wrong", "[url]") {
  CHECK(parse_https_url("http://x.com/").error().message.find("https") != std::string::npos);
  CHECK(parse_https_url("https://u@x.com/").error().message.find("user") != std::string::npos);
  CHECK(parse_https_url("https://x.com:0/").error().message.find("port") != std::string::npos);
}

TEST_CASE("parse_https_url: numeric IPv4 spellings become the dotted address they mean", "[url]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://2130706433/", "127.0.0.1"},
      {"https://0177.0.0.1/", "127.0.0.1"},
      {"https://0x7f.1/", "127.0.0.1"},
      {"https://127.1/", "127.0.0.1"},
      {"https://0X7F.0.0.1/", "127.0.0.1"},
      {"https://127.000.0.1/", "127.0.0.1"},
      {"https://0xa9fea9fe/", "169.254.169.254"},
      {"https://10.1.258/", "10.1.1.2"},
      {"https://017700000001/", "127.0.0.1"},
      {"https://0/", "0.0.0.0"},
      {"https://1.2.3.4/", "1.2.3.4"},
      {"https://192.168.0x1.1/", "192.168.1.1"},
  };
  for (const auto& [url, host] : cases) {
    INFO("url: " << url);
    const auto u = parse_https_url(url + "x");
    REQUIRE(u.ok());
    CHECK(u->host == host);
    CHECK(u->host_header == host);
    CHECK(u->url == url + "x");
  }
  const auto with_port = parse_https_url("https://0x7f.1:8443/");
  REQUIRE(with_port.ok());
  CHECK(with_port->host_header == "127.0.0.1:8443");
  CHECK(with_port->origin() == "127.0.0.1:8443");
  // A name whose last label is not a number stays a name.
  const auto name = parse_https_url("https://0x7f.example/");
  REQUIRE(name.ok());
  CHECK(name->host == "0x7f.example");
}

TEST_CASE("parse_https_url: each refusal names its reason", "[url]") {
  auto message = [](std::string_view url) {
    const auto r = parse_https_url(url);
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(message("http://x.com/") == "URL scheme must be https, not http");
  CHECK(message("file:///etc/passwd") == "URL scheme must be https, not file");
  CHECK(message("//x.com/") == "URL must start with https://");
  CHECK(message("https://u:p@x.com/") == "URL must not contain user information (user@host)");
  CHECK(message("https://x.com/\\a") == "URL contains a backslash");
  CHECK(message("https://x.com/a\r\nb") == "URL contains a line break (CR or LF)");
  CHECK(message("https://x.com/a\nb") == "URL contains a line break (CR or LF)");
  CHECK(message("https://x.com/a\tb") == "URL contains a tab");
  CHECK(message(std::string_view("https://x.com/\0", 15)) == "URL contains a NUL byte");
  CHECK(message("https://x.com/a b") == "URL contains a space");
  CHECK(message("https://x%2ecom/") == "URL host must not be percent-encoded");
  CHECK(message("https://4294967296/") == "URL host is a number but not a valid IPv4 address");
  CHECK(message("https://1.2.3.4.5/") == "URL host is a number but not a valid IPv4 address");
}

TEST_CASE("is_pchar: RFC 3986 pchar without pct-encoded, byte by byte", "[url]") {
  const std::string_view others = "-._~!$&'()*+,;=:@";  // unreserved marks, sub-delims, : @
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool pchar = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                       others.find(c) != std::string_view::npos;
    INFO(b);
    CHECK(korehook::net::is_pchar(c) == pchar);
  }
}
