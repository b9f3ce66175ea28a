#pragma once

#include <memory>

#include "korehook/api/server.hpp"
#include "korehook/dispatch/dispatcher.hpp"
#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"

namespace korehook::api {

// The API's routes. Handlers validate input with the pure core, call the store and the
// dispatcher, and translate to JSON; they hold no delivery logic of their own.
class Api {
 public:
  Api(store::Store& store, dispatch::Dispatcher& dispatcher, const Clock& clock, Random& random);
  ~Api();

  void handle(Request request, Respond respond);
  // From now on, new events are refused with 503 (SIGTERM).
  void set_draining();
  // Reloads the signing keys into the dispatcher (after a secret changed, and at startup).
  void refresh_signing_keys();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace korehook::api
