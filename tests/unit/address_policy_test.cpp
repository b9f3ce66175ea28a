#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "korehook/net/address_policy.hpp"

using korehook::net::AddressPolicy;
using korehook::net::check_address;
using korehook::net::is_address_allowed;
using korehook::net::parse_cidr;
using korehook::net::parse_ip_address;

namespace {

bool allowed(const std::string& text, const AddressPolicy& policy = {}) {
  const auto address = parse_ip_address(text);
  REQUIRE(address.has_value());
  return is_address_allowed(*address, policy);
}

std::string blocked_detail(const std::string& text, const AddressPolicy& policy = {}) {
  const auto address = parse_ip_address(text);
  REQUIRE(address.has_value());
  return check_address(*address, policy).detail(*address);
}

AddressPolicy allowing(const std::vector<std::string>& ranges) {
  AddressPolicy policy;
  for (const auto& r : ranges) {
    auto cidr = parse_cidr(r);
    REQUIRE(cidr.ok());
    policy.allow_private.push_back(cidr.value());
  }
  return policy;
}

}  // namespace

TEST_CASE("address policy blocks every special-purpose IPv4 range at both ends", "[net][ssrf]") {
  const std::vector<std::pair<std::string, std::string>> ranges = {
      {"0.0.0.0", "0.255.255.255"},       {"10.0.0.0", "10.255.255.255"},
      {"100.64.0.0", "100.127.255.255"},  {"127.0.0.0", "127.255.255.255"},
      {"169.254.0.0", "169.254.255.255"}, {"172.16.0.0", "172.31.255.255"},
      {"192.0.0.0", "192.0.0.255"},       {"192.0.2.0", "192.0.2.255"},
      {"192.88.99.0", "192.88.99.255"},   {"192.168.0.0", "192.168.255.255"},
      {"198.18.0.0", "198.19.255.255"},   {"198.51.100.0", "198.51.100.255"},
      {"203.0.113.0", "203.0.113.255"},   {"224.0.0.0", "239.255.255.255"},
      {"240.0.0.0", "255.255.255.255"},
  };
  for (const auto& [first, last] : ranges) {
    INFO(first << " - " << last);
    CHECK_FALSE(allowed(first));
    CHECK_FALSE(allowed(last));
  }
}

TEST_CASE("address policy allows public IPv4 next to the blocked ranges", "[net][ssrf]") {
  for (const char* text :
       {"1.1.1.1",     "8.8.8.8",         "9.255.255.255", "11.0.0.0",        "100.63.255.255",
        "100.128.0.0", "126.255.255.255", "128.0.0.0",     "169.253.255.255", "172.15.255.255",
        "172.32.0.0",  "192.0.1.0",       "192.0.3.0",     "192.88.98.255",   "192.167.255.255",
        "192.169.0.0", "198.17.255.255",  "198.20.0.0",    "203.0.112.255",   "223.255.255.255"}) {
    INFO(text);
    CHECK(allowed(text));
  }
}

TEST_CASE("address policy allows only global unicast IPv6 outside the special ranges",
          "[net][ssrf]") {
  for (const char* text :
       {"::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "64:ff9b::7f00:1",
        "64:ff9b::808:808", "2001::1", "2001:1ff::1", "2001:db8::1", "2002:7f00:1::1", "3fff::1",
        "3fff:fff::1", "4000::1", "100::1", "1fff:ffff::1"}) {
    INFO(text);
    CHECK_FALSE(allowed(text));
  }
  for (const char* text : {"2001:4860:4860::8888", "2606:4700:4700::1111", "2001:200::1", "2003::1",
                           "3ffe::1", "3fff:1000::1"}) {
    INFO(text);
    CHECK(allowed(text));
  }
}

TEST_CASE("address policy judges IPv4-mapped and IPv4-compatible addresses by their IPv4 part",
          "[net][ssrf]") {
  CHECK_FALSE(allowed("::ffff:127.0.0.1"));
  CHECK_FALSE(allowed("::ffff:169.254.169.254"));
  CHECK_FALSE(allowed("::ffff:a00:1"));  // 10.0.0.1 in hex groups
  CHECK_FALSE(allowed("::127.0.0.1"));
  CHECK_FALSE(allowed("::10.1.2.3"));
  CHECK(allowed("::ffff:8.8.8.8"));
  CHECK(allowed("::8.8.8.8"));
  CHECK_THAT(
      blocked_detail("::ffff:127.0.0.1"),
      Catch::Matchers::Equals("::ffff:127.0.0.1 is in blocked range 127.0.0.0/8 (loopback)"));
}

TEST_CASE("address policy messages name the address and the range", "[net][ssrf]") {
  CHECK(blocked_detail("169.254.169.254") ==
        "169.254.169.254 is in blocked range 169.254.0.0/16 (link-local (cloud metadata))");
  CHECK(blocked_detail("10.1.2.3") == "10.1.2.3 is in blocked range 10.0.0.0/8 (private-use)");
  CHECK(blocked_detail("::1") == "::1 is in blocked range ::1/128 (loopback)");
  CHECK(blocked_detail("4000::1") == "4000::1 is outside global unicast 2000::/3");
  CHECK(blocked_detail("8.8.8.8").empty());
}

TEST_CASE("allow_private opens exactly the listed ranges", "[net][ssrf]") {
  const AddressPolicy policy = allowing({"127.0.0.0/8", "::1/128", "10.1.0.0/16"});
  CHECK(allowed("127.0.0.1", policy));
  CHECK(allowed("127.255.0.9", policy));
  CHECK(allowed("::1", policy));
  CHECK(allowed("::ffff:127.0.0.1", policy));  // the mapped form of an allowed IPv4 address
  CHECK(allowed("10.1.200.3", policy));
  CHECK_FALSE(allowed("10.2.0.1", policy));
  CHECK_FALSE(allowed("169.254.169.254", policy));
  CHECK_FALSE(allowed("::", policy));
  CHECK_FALSE(allowed("fe80::1", policy));
  const auto address = parse_ip_address("127.0.0.1");
  REQUIRE(address.has_value());
  CHECK(check_address(*address, policy).range == "127.0.0.0/8");
}

TEST_CASE("parse_ip_address takes IPv4, IPv6 and bracketed IPv6 only", "[net][ssrf]") {
  CHECK(parse_ip_address("127.0.0.1")->to_string() == "127.0.0.1");
  CHECK(parse_ip_address("[::1]")->to_string() == "::1");
  CHECK(parse_ip_address("2001:DB8::1")->to_string() == "2001:db8::1");
  CHECK_FALSE(parse_ip_address("localhost").has_value());
  CHECK_FALSE(parse_ip_address("127.1").has_value());
  CHECK_FALSE(parse_ip_address("").has_value());
  CHECK_FALSE(parse_ip_address("fe80::1%eth0").has_value());
}
