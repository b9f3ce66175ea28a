#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "korehook/delivery/sender.hpp"
#include "korehook/model/endpoint.hpp"
#include "korehook/net/url.hpp"
#include "korehook/retry/policy.hpp"
#include "korehook/sign/headers.hpp"
#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"

namespace korehook::dispatch {

// Everything the dispatcher needs to know about one delivery target (an endpoint).
struct Target {
  std::string id;
  std::string account_id;
  net::HttpsUrl url;
  std::vector<std::string> event_types;
  bool enabled = true;
  // An attempt's bounds (AttemptTimeouts, delivery::SendRequest): each step of connecting,
  // write + response, and the whole attempt.
  Millis connect_timeout{5'000};
  Millis read_timeout{15'000};
  Millis timeout{20'000};
  retry::RetryPolicy retry;
  int max_in_flight = 16;
  std::optional<double> rate_limit;  // requests per second
  Millis disable_after{0};           // disabled after failing continuously this long; 0 never
  TimeMs failing_since = 0;          // start of the current failing streak, 0 none
  std::optional<std::string> ca_file;
  sign::Headers headers;  // custom static headers, validated
  bool kore_signature = true;
  bool standard_signature = true;
};

// The target of an endpoint record (its URL was validated when it was stored).
Target target_from_endpoint(const EndpointRecord& endpoint);

// One attempt's request to `target` at `url` (the target's own, or an event's callback URL):
// the signed headers (from `input`, whose url and signature switches are set here from `url`
// and `target`), then the target's custom headers, the body, its bounds and CA bundle.
delivery::SendRequest attempt_request(const Target& target, net::HttpsUrl url,
                                      sign::AttemptInput input, const sign::SigningKeys& keys,
                                      std::shared_ptr<const std::string> body);

struct DispatcherOptions {
  // Settings of deliveries to an event's callback_url (no endpoint): timeouts, retry policy and
  // the in-flight limit per callback origin. `url`, `id` and filters are not used.
  Target callback;
  int memory_queue = 4096;  // deliveries held in memory at most
  // Deliveries one endpoint (all callbacks together count as one) holds in memory, about:
  // new ones past it wait in the store, and claims leave out endpoints holding half of it.
  int memory_per_endpoint = 1024;
  // Attempts in flight at once over all targets (each holds a connection and its buffers).
  int max_in_flight_total = 128;
  // Retries due within this window stay in memory on a timer; later ones go back to the store.
  Millis horizon{60'000};
};

struct DispatcherStats {
  std::size_t in_memory = 0;
  std::size_t in_flight = 0;
  std::size_t ready = 0;
  std::size_t scheduled = 0;
  std::uint64_t attempts = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
};

// Endpoint lifecycle (SPEC §1, §4): a 410 Gone answer, or failing continuously for the target's
// disable_after, disables the endpoint in the store (which parks its deliveries) and here.
//
// Moves deliveries from "due" to "on the wire" without polling: new deliveries are handed
// over right after their commit (accept), retries wait on one timer, and work that did not
// fit in memory is claimed from the store when room frees up. Per-target in-flight limits
// keep one slow target from holding up the others.
// Single-threaded: every call must happen on the io_context's thread.
class Dispatcher {
 public:
  Dispatcher(boost::asio::io_context& io, store::Store& store, delivery::Sender& sender,
             const Clock& clock, Random& random, DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void set_targets(std::vector<Target> targets);
  // Adds or replaces one target (an endpoint created, changed, enabled or disabled). Work for
  // a target that becomes disabled leaves memory: the store has parked it.
  void upsert_target(Target target);
  // The endpoint was deleted: its work in memory is cancelled.
  void remove_target(const std::string& id);
  // The enabled targets of `account_id` whose filters match `type`.
  std::vector<const Target*> route(const std::string& account_id, const std::string& type) const;
  void set_signing_keys(std::map<std::string, sign::SigningKeys> keys);

  // Reserves room in memory for new deliveries before they are appended, one entry per
  // delivery: its endpoint id ("" for a callback). True: append them leased and hand them over
  // with accept(); false (memory full, or an endpoint at its share): append them unleased (the
  // store keeps them until there is room). Every delivery of a successful reserve() is then
  // either accepted or passed to release_reservation().
  bool reserve(const std::vector<std::string>& endpoint_ids);
  void release_reservation(const std::vector<std::string>& endpoint_ids);
  void accept(std::vector<store::Work> work);
  // Deliveries were appended unleased: fetch them from the store when there is room.
  void notify_stored();
  // The same for new deliveries of these endpoints: nothing to do when each of them holds its
  // share of memory already (their stored work is claimed once they drain; a claim now would
  // only read past it).
  void notify_stored(const std::vector<std::string>& endpoint_ids);

  // Claims due work from the store (call once the store is recovered).
  void start();
  // Stops starting attempts; `done` runs when no attempt is in flight or after `grace`.
  void stop(Millis grace, std::function<void()> done);

  DispatcherStats stats() const;

  // Deliveries with an attempt underway in this process. The store keeps them pending (no
  // write at the start of an attempt); the API shows them as in_flight from here.
  bool attempting(const std::string& delivery_id) const;
  std::vector<std::string> attempting_ids() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace korehook::dispatch
