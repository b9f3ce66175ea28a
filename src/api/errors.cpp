#include "korehook/api/errors.hpp"

#include <boost/json/serialize.hpp>

namespace korehook::api {

Response json_response(int status, const boost::json::value& body) {
  Response res;
  res.status = status;
  res.body = boost::json::serialize(body);
  return res;
}

Response error_response(int status, std::string_view code, std::string_view message,
                        boost::json::object info) {
  boost::json::object body;
  body["status"] = status;
  body["code"] = code;
  body["message"] = message;
  body["info"] = std::move(info);
  return json_response(status, body);
}

Response error_response(const Error& error) {
  int status = 400;
  if (error.code == "not_found") status = 404;
  if (error.code == "invalid_transition" || error.code == "conflict" ||
      error.code == "declared_in_config") {
    status = 409;
  }
  if (error.code == "store_error") status = 503;
  return error_response(status, error.code, error.message);
}

}  // namespace korehook::api
