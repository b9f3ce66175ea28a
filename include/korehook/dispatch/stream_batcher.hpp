#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "korehook/dispatch/dispatcher.hpp"
#include "korehook/model/stream.hpp"
#include "korehook/store/store.hpp"
#include "korehook/util/clock.hpp"

namespace korehook::dispatch {

struct StreamBatcherStats {
  std::size_t pending = 0;    // events waiting in memory for their batch
  std::uint64_t batches = 0;  // batches made
  std::uint64_t batched = 0;  // events put into them
};

// Event Streams (SPEC §2.3): matches events against the streaming rules and turns the pending
// rows that append_events stored for them into batches.
//
// Pending events are grouped per (destination, event type). A group is made into one batch
// when it holds `max_events`, or when its oldest event has waited `linger`: the store makes
// the batch in one transaction (CloudEvents array stored as the batch's body, one delivery
// with the batch's own token, the pending rows deleted), and the delivery goes to the
// Dispatcher like any new one. The rows are durable until then, so load() at startup takes
// up whatever a previous run left. Single-threaded: every call on the io_context's thread.
class StreamBatcher {
 public:
  StreamBatcher(boost::asio::io_context& io, store::Store& store, Dispatcher& dispatcher,
                const Clock& clock, Random& random, StreamSettings settings);
  ~StreamBatcher();
  StreamBatcher(const StreamBatcher&) = delete;
  StreamBatcher& operator=(const StreamBatcher&) = delete;

  void set_settings(StreamSettings settings);
  void set_rules(std::vector<RuleRecord> rules);
  void upsert_rule(RuleRecord rule);
  void remove_rule(const std::string& id);

  // The destinations the enabled rules of `account_id` route `type` to, each once (the
  // schema version of the first rule by id when several rules route it to one destination).
  std::vector<store::StreamTarget> route(const std::string& account_id,
                                         const std::string& type) const;

  // Events whose pending rows were committed.
  void add(std::vector<store::StreamPending> pending);
  // Startup: takes up the pending rows left in the store.
  void load();
  // Makes no more batches (SIGTERM); pending rows stay in the store for the next start.
  void stop();

  StreamBatcherStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace korehook::dispatch
