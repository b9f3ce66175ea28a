#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "korehook/api/server.hpp"
#include "korehook/util/result.hpp"

namespace korehook::api {

// Every API error: {"status", "code", "message", "info"}.
Response error_response(int status, std::string_view code, std::string_view message,
                        boost::json::object info = {});

// Maps a store/core Error to a response: not_found -> 404, invalid_transition, conflict and
// declared_in_config -> 409,
// store_error -> 503, anything else -> 400.
Response error_response(const Error& error);

Response json_response(int status, const boost::json::value& body);

}  // namespace korehook::api
