#pragma once

#include <string>

#include "korehook/delivery/sender.hpp"

namespace korehook::delivery {

// Renders `request` as the HTTP/1.1 bytes the sender writes, into `out` (replaced; its
// capacity is reused): `POST <target> HTTP/1.1`, `host`, the request's headers in order
// (names as given; values without leading and trailing spaces and tabs; any `host` or
// `content-length` among them skipped), `content-length`, the empty line, the body. The same
// bytes Beast's serializer produced for this message, in one buffer so one SSL_write sends
// them. REQUIRES: header names and values validated (no CR, LF or NUL).
void render_request(const SendRequest& request, std::string& out);

}  // namespace korehook::delivery
