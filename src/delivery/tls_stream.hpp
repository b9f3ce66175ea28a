#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace korehook::delivery {

// A client TLS stream over Beast's TCP stream: what the deliveries write and read through. The
// TCP stream's deadline bounds the handshake and the shutdown; a request's write and its
// response's reads use the socket itself (see Op::timed).
//
// It does what Asio's ssl::stream does for us, with less work per record. OpenSSL reads and
// writes through a BIO of our own that takes the bytes this stream read from the socket and
// appends what OpenSSL writes to a string that goes to the socket as it is, so there is no BIO
// pair to copy through; and the thread's OpenSSL error queue is cleared only when something is
// in it (Asio's engine clears it before every call, about 900 instructions each in OpenSSL
// 3.0, three or more times per delivery).
//
// One operation at a time (handshake, a read, a write, shutdown), which is how an exchange uses
// a connection. Errors are those of Asio's stream: the TCP stream's own (timeout from its
// deadline, operation_aborted when cancelled), ssl category codes from OpenSSL's error queue,
// asio::error::eof after the peer's close_notify, ssl::error::stream_truncated when the
// connection ended without one.
class TlsStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using next_layer_type = boost::beast::tcp_stream;

  TlsStream(const executor_type& executor, boost::asio::ssl::context& context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  next_layer_type& next_layer() noexcept { return tcp_; }
  SSL* native_handle() noexcept { return ssl_; }

  // A second check of the peer's identity on the leaf certificate, after OpenSSL's own (as
  // asio::ssl::stream::set_verify_callback).
  void set_verify_callback(boost::asio::ssl::host_name_verification verify);

  // Handler: void(error_code). The client side of the handshake.
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    SSL_set_connect_state(ssl_);
    return run<void(boost::beast::error_code)>(Call::kHandshake, nullptr, 0,
                                               std::forward<Handler>(handler));
  }

  // Handler: void(error_code). Sends close_notify and waits for the peer's (or its EOF).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return run<void(boost::beast::error_code)>(Call::kShutdown, nullptr, 0,
                                               std::forward<Handler>(handler));
  }

  // Handler: void(error_code, std::size_t). Reads into the first non-empty buffer.
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    const boost::asio::mutable_buffer b = first_buffer(buffers);
    return run<void(boost::beast::error_code, std::size_t)>(Call::kRead, b.data(), b.size(),
                                                            std::forward<Handler>(handler));
  }

  // Handler: void(error_code, std::size_t). Writes up to one TLS record (16 KiB) of the first
  // non-empty buffer; asio::async_write calls it again for the rest.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    const boost::asio::const_buffer b = first_buffer(buffers);
    return run<void(boost::beast::error_code, std::size_t)>(
        Call::kWrite, const_cast<void*>(b.data()), std::min<std::size_t>(b.size(), kMaxRecord),
        std::forward<Handler>(handler));
  }

 private:
  enum class Call { kHandshake, kShutdown, kRead, kWrite };
  // What one OpenSSL call left to do.
  enum class Next { kDone, kRead, kCallAgain };

  static constexpr std::size_t kMaxRecord = 16 * 1024;
  // One socket read: a whole record with its header and tag.
  static constexpr std::size_t kReadChunk = kMaxRecord + 512;

  struct Outcome {
    Next next = Next::kDone;
    int result = 0;  // > 0: bytes read or written (kDone without error)
    boost::beast::error_code error;
  };

  // The first non-empty buffer of a sequence, or an empty one.
  template <class Buffers>
  static auto first_buffer(const Buffers& buffers) {
    using Buffer = std::decay_t<decltype(*boost::asio::buffer_sequence_begin(buffers))>;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (it->size() > 0) return Buffer(*it);
    }
    return Buffer();
  }

  // Makes the OpenSSL call and says what it needs next.
  Outcome perform(Call call, void* data, std::size_t size);
  // The error of a socket read or write: an end of stream is eof after the peer's
  // close_notify, else stream_truncated.
  boost::beast::error_code transport_error(boost::beast::error_code ec) const;

  // One operation: calls OpenSSL, writes what it produced, reads when it needs input, and
  // completes (through the executor when no I/O was needed, never inside the initiation).
  template <class Signature>
  class Op {
   public:
    Op(TlsStream& stream, Call call, void* data, std::size_t size)
        : s_(stream), call_(call), data_(data), size_(size) {}

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}, std::size_t n = 0) {
      switch (state_) {
        case State::kStart:
          // An empty read or write asks nothing of OpenSSL (as Asio's engine).
          if ((call_ == Call::kRead || call_ == Call::kWrite) && size_ == 0) return post(self);
          // Nothing read and nothing buffered in OpenSSL: SSL_read could only ask for input.
          if (call_ == Call::kRead && s_.in_.size() == 0 && SSL_has_pending(s_.ssl_) == 0) {
            return read(self);
          }
          break;
        case State::kWriting:
          s_.out_.clear();
          // OpenSSL's own error, if it had one, says more than the socket's (as Asio's stream):
          // the alert of a failed handshake may meet a peer that is gone.
          if (outcome_.next == Next::kDone) {
            return finish(self, outcome_.error ? outcome_.error : ec, outcome_.result);
          }
          if (ec) return finish(self, ec, 0);
          if (outcome_.next == Next::kRead) return read(self);
          break;
        case State::kReading:
          if (ec) return finish(self, s_.transport_error(ec), 0);
          s_.in_.commit(n);
          break;
        case State::kPosted:
          return finish(self, outcome_.error, outcome_.result);
      }
      for (;;) {
        outcome_ = s_.perform(call_, data_, size_);
        // What OpenSSL wrote goes out first: the request, handshake messages, an alert.
        if (!s_.out_.empty()) {
          state_ = State::kWriting;
          if (timed()) {
            boost::asio::async_write(s_.tcp_, boost::asio::buffer(s_.out_), std::move(self));
          } else {
            boost::asio::async_write(s_.tcp_.socket(), boost::asio::buffer(s_.out_),
                                     std::move(self));
          }
          return;
        }
        if (outcome_.next == Next::kRead) return read(self);
        if (outcome_.next == Next::kDone) {
          if (state_ == State::kStart) return post(self);
          return finish(self, outcome_.error, outcome_.result);
        }
      }
    }

   private:
    enum class State { kStart, kWriting, kReading, kPosted };

    // The handshake and the shutdown are bounded by the TCP stream's deadline; reads and writes
    // go to the socket itself, which the sender's one timer cancels at their deadline (without
    // the TCP stream's deadline bookkeeping for each).
    bool timed() const { return call_ == Call::kHandshake || call_ == Call::kShutdown; }

    template <class Self>
    void read(Self& self) {
      state_ = State::kReading;
      if (timed()) {
        s_.tcp_.async_read_some(s_.in_.prepare(kReadChunk), std::move(self));
      } else {
        s_.tcp_.socket().async_read_some(s_.in_.prepare(kReadChunk), std::move(self));
      }
    }

    template <class Self>
    void post(Self& self) {
      state_ = State::kPosted;
      boost::asio::post(s_.tcp_.get_executor(), std::move(self));
    }

    template <class Self>
    void finish(Self& self, boost::beast::error_code ec, int result) {
      if constexpr (std::is_same_v<Signature, void(boost::beast::error_code)>) {
        (void)result;
        self.complete(ec);
      } else {
        self.complete(ec, ec ? 0 : static_cast<std::size_t>(result > 0 ? result : 0));
      }
    }

    TlsStream& s_;
    Call call_;
    void* data_;
    std::size_t size_;
    State state_ = State::kStart;
    Outcome outcome_;  // of the last OpenSSL call
  };

  template <class Signature, class Handler>
  auto run(Call call, void* data, std::size_t size, Handler&& handler) {
    return boost::asio::async_compose<Handler, Signature>(Op<Signature>(*this, call, data, size),
                                                          handler, tcp_);
  }

  friend struct TlsStreamBio;

  boost::beast::tcp_stream tcp_;
  SSL* ssl_ = nullptr;
  std::string out_;               // TLS bytes from OpenSSL, not yet written to the socket
  boost::beast::flat_buffer in_;  // TLS bytes read from the socket, not yet taken by OpenSSL
  std::optional<boost::asio::ssl::host_name_verification> verify_;
};

}  // namespace korehook::delivery
