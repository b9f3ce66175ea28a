// The OpenAPI document (docs/openapi.yaml, served at GET /v1/openapi.yaml) and the routes the
// daemon serves must match exactly: every route documented, every documented route served.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <utility>

#include "korehook/api/handlers.hpp"

namespace {

using RouteSet = std::set<std::pair<std::string, std::string>>;

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

RouteSet documented_routes() {
  const YAML::Node doc = YAML::Load(std::string(korehook::api::openapi_yaml()));
  RouteSet out;
  static const std::set<std::string> kMethods = {"get",     "put",  "post",  "delete",
                                                 "options", "head", "patch", "trace"};
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      const auto key = op.first.as<std::string>();
      if (kMethods.count(key) != 0) out.emplace(upper(key), path.first.as<std::string>());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("openapi: the built-in document is OpenAPI 3 and parses", "[openapi]") {
  const YAML::Node doc = YAML::Load(std::string(korehook::api::openapi_yaml()));
  REQUIRE(doc["openapi"]);
  CHECK(doc["openapi"].as<std::string>().starts_with("3."));
  CHECK(doc["paths"].IsMap());
}

TEST_CASE("openapi: every served route is documented and every documented route is served",
          "[openapi]") {
  RouteSet served;
  for (const auto& [method, pattern] : korehook::api::Api::route_table()) {
    served.emplace(method, pattern);
  }
  const RouteSet documented = documented_routes();
  std::vector<std::pair<std::string, std::string>> undocumented;
  std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(),
                      std::back_inserter(undocumented));
  std::vector<std::pair<std::string, std::string>> not_served;
  std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(),
                      std::back_inserter(not_served));
  for (const auto& [m, p] : undocumented)
    UNSCOPED_INFO("served but not documented: " << m << " " << p);
  for (const auto& [m, p] : not_served)
    UNSCOPED_INFO("documented but not served: " << m << " " << p);
  CHECK(undocumented.empty());
  CHECK(not_served.empty());
  CHECK(served.size() >= 20);
}
