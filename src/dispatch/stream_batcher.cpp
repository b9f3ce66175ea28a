#include "korehook/dispatch/stream_batcher.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <set>

#include "korehook/route/filter.hpp"
#include "korehook/util/ids.hpp"
#include "log/log.hpp"

namespace korehook::dispatch {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kBatchIdPrefix = "bat";

spdlog::logger& logger() { return log::get("streams"); }

}  // namespace

struct StreamBatcher::Impl {
  struct Entry {
    std::string event_id;
    TimeMs created_at = 0;
  };
  // The pending events of one (destination, type).
  struct Group {
    std::string destination_id;
    std::string account_id;
    std::string type;
    std::deque<Entry> entries;
    std::unique_ptr<asio::steady_timer> timer;
    TimeMs timer_at = 0;  // 0: not armed
  };

  asio::io_context& io;
  store::Store& store;
  Dispatcher& dispatcher;
  const Clock& clock;
  Random& random;
  StreamSettings settings;
  std::map<std::string, RuleRecord> rules;  // by id: route() answers in id order
  std::map<std::pair<std::string, std::string>, Group> groups;
  std::set<std::pair<std::string, std::string>> known;  // (event, destination) held in memory
  bool stopped = false;
  StreamBatcherStats counters;

  Impl(asio::io_context& io, store::Store& store, Dispatcher& dispatcher, const Clock& clock,
       Random& random, StreamSettings settings)
      : io(io),
        store(store),
        dispatcher(dispatcher),
        clock(clock),
        random(random),
        settings(std::move(settings)) {}

  void add(store::StreamPending p) {
    if (!known.emplace(p.event_id, p.destination_id).second) return;  // load() after add()
    auto key = std::make_pair(p.destination_id, p.type);
    Group& g = groups[key];
    if (g.entries.empty()) {
      g.destination_id = p.destination_id;
      g.account_id = p.account_id;
      g.type = p.type;
    }
    g.entries.push_back(Entry{std::move(p.event_id), p.created_at});
    ++counters.pending;
  }

  // Makes batches of every group that is full or whose oldest event waited long enough, and
  // arms the timers of the others.
  void service(const std::pair<std::string, std::string>& key) {
    if (stopped) return;
    auto it = groups.find(key);
    if (it == groups.end()) return;
    Group& g = it->second;
    const auto max = static_cast<std::size_t>(settings.max_events);
    const TimeMs now = clock.now_ms();
    while (!g.entries.empty() && (g.entries.size() >= max ||
                                  g.entries.front().created_at + settings.linger.count() <= now)) {
      flush(g, std::min(max, g.entries.size()));
    }
    if (g.entries.empty()) return;
    const TimeMs due = g.entries.front().created_at + settings.linger.count();
    if (g.timer_at != 0 && g.timer_at <= due) return;
    if (!g.timer) g.timer = std::make_unique<asio::steady_timer>(io);
    g.timer_at = due;
    g.timer->expires_after(Millis(std::max<TimeMs>(0, due - now)));
    g.timer->async_wait([this, key](boost::system::error_code ec) {
      if (ec) return;
      auto found = groups.find(key);
      if (found == groups.end()) return;
      found->second.timer_at = 0;
      service(key);
    });
  }

  void flush(Group& g, std::size_t n) {
    const TimeMs now = clock.now_ms();
    store::NewStreamBatch b;
    b.batch_id = new_id(kBatchIdPrefix, now, random);
    b.delivery_id = new_id(kDeliveryIdPrefix, now, random);
    b.token = new_uuid_v4(random);
    b.destination_id = g.destination_id;
    b.account_id = g.account_id;
    b.type = g.type;
    b.source = settings.source;
    b.now = now;
    std::vector<Entry> taken;
    for (std::size_t i = 0; i < n; ++i) {
      b.event_ids.push_back(g.entries.front().event_id);
      taken.push_back(std::move(g.entries.front()));
      g.entries.pop_front();
    }
    counters.pending -= n;
    const bool leased = dispatcher.reserve({g.destination_id});
    b.lease_until = leased ? store::kLeaseHeld : 0;
    auto key = std::make_pair(g.destination_id, g.type);
    const std::string batch_id = b.batch_id;
    store.create_stream_batch(std::move(b), [this, key, leased, batch_id, taken = std::move(taken)](
                                                Result<store::StreamBatchResult> r) mutable {
      if (!r.ok()) {
        if (leased) dispatcher.release_reservation({key.first});
        logger().error("batch destination={} type={} failed, retried after linger: {}", key.first,
                       key.second, r.error().message);
        Group& g = groups[key];
        const TimeMs later = clock.now_ms();
        for (auto e = taken.rbegin(); e != taken.rend(); ++e) {
          e->created_at = later;  // wait one more linger before trying again
          g.entries.push_front(std::move(*e));
          ++counters.pending;
        }
        return service(key);
      }
      for (const auto& e : taken) known.erase({e.event_id, key.first});
      if (r->events > 0) {
        ++counters.batches;
        counters.batched += static_cast<std::uint64_t>(r->events);
        logger().info("batch={} destination={} type={} events={}{}", batch_id, key.first,
                      key.second, r->events, r->parked ? " parked=1" : "");
      }
      if (r->work) {
        if (leased) {
          dispatcher.accept({std::move(*r->work)});
        } else {
          dispatcher.notify_stored({key.first});
        }
      } else if (leased) {
        dispatcher.release_reservation({key.first});
      }
    });
  }
};

StreamBatcher::StreamBatcher(asio::io_context& io, store::Store& store, Dispatcher& dispatcher,
                             const Clock& clock, Random& random, StreamSettings settings)
    : impl_(std::make_unique<Impl>(io, store, dispatcher, clock, random, std::move(settings))) {}

StreamBatcher::~StreamBatcher() = default;

void StreamBatcher::set_settings(StreamSettings settings) { impl_->settings = std::move(settings); }

void StreamBatcher::set_rules(std::vector<RuleRecord> rules) {
  impl_->rules.clear();
  for (auto& r : rules) {
    std::string id = r.id;
    impl_->rules.emplace(std::move(id), std::move(r));
  }
}

void StreamBatcher::upsert_rule(RuleRecord rule) {
  std::string id = rule.id;
  impl_->rules.insert_or_assign(std::move(id), std::move(rule));
}

void StreamBatcher::remove_rule(const std::string& id) { impl_->rules.erase(id); }

std::vector<store::StreamTarget> StreamBatcher::route(const std::string& account_id,
                                                      const std::string& type) const {
  std::vector<store::StreamTarget> out;
  for (const auto& [id, rule] : impl_->rules) {
    if (!rule.enabled() || rule.account_id != account_id ||
        !route::matches_any(rule.event_types, type)) {
      continue;
    }
    const bool seen = std::any_of(out.begin(), out.end(), [&](const store::StreamTarget& t) {
      return t.destination_id == rule.destination_id;
    });
    if (!seen) out.push_back(store::StreamTarget{rule.destination_id, rule.schema_version});
  }
  return out;
}

void StreamBatcher::add(std::vector<store::StreamPending> pending) {
  std::set<std::pair<std::string, std::string>> touched;
  for (auto& p : pending) {
    touched.emplace(p.destination_id, p.type);
    impl_->add(std::move(p));
  }
  for (const auto& key : touched) impl_->service(key);
}

void StreamBatcher::load() {
  impl_->store.stream_pending([this](Result<std::vector<store::StreamPending>> r) {
    if (!r.ok()) {
      logger().error("loading pending stream events failed: {}", r.error().message);
      return;
    }
    if (!r->empty()) logger().info("pending stream events from the store count={}", r->size());
    add(std::move(*r));
  });
}

void StreamBatcher::stop() {
  impl_->stopped = true;
  for (auto& [key, g] : impl_->groups) {
    if (g.timer) g.timer->cancel();
  }
}

StreamBatcherStats StreamBatcher::stats() const { return impl_->counters; }

}  // namespace korehook::dispatch
