// The API server's request parsing: Beast's request parser with the server's limits, then
// the origin-form split of the target, as src/api/server.cpp does. No crash, limits hold.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxBody = 4096;
  http::request_parser<http::string_body> parser;
  parser.header_limit(1024);
  parser.body_limit(kMaxBody);
  parser.eager(true);
  boost::beast::error_code ec;
  // Fed in two pieces, like a request split over two reads.
  const std::size_t half = size / 2;
  std::size_t used = parser.put(boost::asio::buffer(data, half), ec);
  if (!ec || ec == http::error::need_more) {
    ec = {};
    used = parser.put(boost::asio::buffer(data + used, size - used), ec);
  }
  if (parser.is_header_done()) {
    const auto target = parser.get().target();
    auto parsed = boost::urls::parse_origin_form({target.data(), target.size()});
    if (parsed) {
      for (auto param : parsed->params()) (void)param.key.size();
    }
  }
  if (parser.is_done() && parser.get().body().size() > kMaxBody) std::abort();
  return 0;
}
