#include "korehook/delivery/sender.hpp"

#include <boost/asio/post.hpp>
#include <vector>

#include "delivery/exchange.hpp"

namespace korehook::delivery {

struct Sender::Impl {
  boost::asio::io_context& io;
  const Clock& clock;
  std::shared_ptr<SenderState> state;
};

Sender::Sender(boost::asio::io_context& io, const Clock& clock, SenderOptions options)
    : impl_(std::make_unique<Impl>(
          Impl{io, clock, std::make_shared<SenderState>(io, std::move(options))})) {}

Sender::~Sender() {
  SenderState& state = *impl_->state;
  state.stopped = true;
  // Copy: an exchange leaves the set when it ends, which never happens inside abort().
  const std::vector<Exchange*> in_flight(state.in_flight.begin(), state.in_flight.end());
  for (Exchange* exchange : in_flight) exchange->abort();
  state.stop_io_timer();
  state.pool->clear(/*forever=*/true);
}

void Sender::send(SendRequest request, std::function<void(SendResult)> done) {
  auto exchange = std::make_shared<Exchange>(impl_->state, std::move(request), std::move(done),
                                             impl_->clock.now_ms());
  // Started from the event loop, so `done` never runs inside send().
  boost::asio::post(impl_->io, [exchange] { exchange->start(); });
}

void Sender::check_destination(const net::HttpsUrl& url,
                               std::function<void(std::optional<SendResult>)> done,
                               Millis timeout) {
  SendRequest request;
  request.url = url;
  request.connect_timeout = timeout;
  request.timeout = timeout;
  auto exchange = std::make_shared<Exchange>(
      impl_->state, std::move(request),
      [done = std::move(done)](SendResult result) {
        if (result.error == retry::ErrorClass::kBlocked) return done(std::move(result));
        done(std::nullopt);
      },
      impl_->clock.now_ms(), Exchange::Mode::kCheckOnly);
  boost::asio::post(impl_->io, [exchange] { exchange->start(); });
}

void Sender::close_idle() { impl_->state->pool->clear(); }

std::size_t Sender::idle_connections() const { return impl_->state->pool->idle_count(); }

}  // namespace korehook::delivery
