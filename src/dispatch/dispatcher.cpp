#include "korehook/dispatch/dispatcher.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <limits>
#include <unordered_map>

#include "korehook/route/filter.hpp"
#include "log/log.hpp"

namespace korehook::dispatch {

namespace asio = boost::asio;

namespace {

// A delivery held in memory by this process: leased "for as long as the process lives".
// recover() clears every lease at startup, so a crash never strands work.
constexpr TimeMs kHeld = std::numeric_limits<TimeMs>::max() / 2;
constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();

spdlog::logger& logger() { return log::get("dispatch"); }

}  // namespace

struct Dispatcher::Impl {
  struct TargetState {
    std::deque<store::Work> ready;
    int in_flight = 0;
    bool listed = false;  // in ready_targets
  };

  asio::io_context& io;
  store::Store& store;
  delivery::Sender& sender;
  const Clock& clock;
  Random& random;
  DispatcherOptions options;

  std::unordered_map<std::string, Target> targets;
  std::map<std::string, sign::SigningKeys> keys;
  std::unordered_map<std::string, TargetState> states;
  std::deque<std::string> ready_targets;         // round robin over targets with due work
  std::multimap<TimeMs, store::Work> scheduled;  // retries due within the horizon
  std::vector<store::Work> parked;               // for disabled targets
  asio::steady_timer retry_timer;
  TimeMs retry_timer_at = kNever;
  asio::steady_timer cold_timer;
  TimeMs cold_timer_at = kNever;

  std::size_t in_memory = 0;  // ready + scheduled + in flight + parked
  std::size_t reserved = 0;
  std::size_t in_flight = 0;
  bool cold = false;  // the store may hold unleased due work
  bool fetching = false;
  bool stopping = false;
  std::function<void()> on_stopped;
  asio::steady_timer grace_timer;
  DispatcherStats counters;

  Impl(asio::io_context& io, store::Store& store, delivery::Sender& sender, const Clock& clock,
       Random& random, DispatcherOptions options)
      : io(io),
        store(store),
        sender(sender),
        clock(clock),
        random(random),
        options(options),
        retry_timer(io),
        cold_timer(io),
        grace_timer(io) {}

  void make_ready(store::Work work) {
    const std::string target_id = work.delivery.endpoint_id;  // a copy: `work` moves below
    auto target = targets.find(target_id);
    if (target == targets.end()) {
      // The endpoint was removed from the configuration: nowhere to deliver. Cancelling keeps
      // such deliveries from filling memory (they would otherwise wait forever).
      logger().warn("delivery={} endpoint={} cancelled: endpoint not configured", work.delivery.id,
                    target_id);
      store.cancel_deliveries({work.delivery.id});
      --in_memory;
      return;
    }
    if (!target->second.enabled) {
      logger().info("delivery={} endpoint={} parked: endpoint disabled", work.delivery.id,
                    target_id);
      parked.push_back(std::move(work));
      return;
    }
    auto& state = states[target_id];
    state.ready.push_back(std::move(work));
    if (!state.listed) {
      state.listed = true;
      ready_targets.push_back(target_id);
    }
  }

  void pump() {
    std::size_t rounds = ready_targets.size();
    while (!stopping && rounds-- > 0) {
      std::string id = std::move(ready_targets.front());
      ready_targets.pop_front();
      auto& state = states[id];
      state.listed = false;
      const Target* target = find(id);
      if (target == nullptr || !target->enabled) {  // removed or disabled meanwhile
        auto ready = std::move(state.ready);
        state.ready.clear();
        for (auto& work : ready) make_ready(std::move(work));
        continue;
      }
      while (state.in_flight < target->max_in_flight && !state.ready.empty()) {
        store::Work work = std::move(state.ready.front());
        state.ready.pop_front();
        start_attempt(*target, state, std::move(work));
      }
      // Targets at their in-flight limit are listed again when an attempt completes.
    }
  }

  void start_attempt(const Target& target, TargetState& state, store::Work work) {
    ++state.in_flight;
    ++in_flight;
    ++counters.attempts;
    const int number = work.delivery.attempt_count + 1;
    const TimeMs now = clock.now_ms();
    store.mark_in_flight({work.delivery.id});
    logger().debug("delivery={} endpoint={} attempt={} start", work.delivery.id, target.id, number);

    const store::Payload& payload = *work.payload;
    sign::AttemptInput input;
    input.url = target.url.url;
    input.token = work.delivery.token;
    input.content_type = payload.content_type;
    input.body = payload.body;
    input.now = now;
    input.kore = target.kore_signature;
    input.standard = target.standard_signature;
    static const sign::SigningKeys kNoKeys;
    auto keys_it = keys.find(payload.account_id);
    delivery::SendRequest request;
    request.headers =
        sign::attempt_headers(input, keys_it == keys.end() ? kNoKeys : keys_it->second);
    request.headers.insert(request.headers.end(), target.headers.begin(), target.headers.end());
    request.url = target.url;
    request.body = std::shared_ptr<const std::string>(work.payload, &work.payload->body);
    request.connect_timeout = target.connect_timeout;
    request.read_timeout = target.read_timeout;
    request.ca_file = target.ca_file;

    sender.send(std::move(request),
                [this, number, work = std::move(work)](delivery::SendResult result) mutable {
                  on_result(std::move(work), number, std::move(result));
                });
  }

  void on_result(store::Work work, int number, delivery::SendResult result) {
    const std::string target_id = work.delivery.endpoint_id;  // a copy: `work` may move below
    --in_flight;
    auto& state = states[target_id];
    --state.in_flight;
    const TimeMs now = clock.now_ms();

    retry::AttemptOutcome outcome{result.status, result.error, result.retry_after};
    retry::RetryPolicy policy;
    if (const Target* target = find(target_id)) policy = target->retry;
    const retry::Decision decision = retry::decide(policy, number, outcome, now, random);

    store::AttemptDone done;
    done.attempt.delivery_id = work.delivery.id;
    done.attempt.number = number;
    done.attempt.started_at = result.started_at;
    done.attempt.duration_ms = result.duration_ms;
    done.attempt.status_code = result.status;
    done.attempt.error = result.error;
    done.attempt.error_detail = std::move(result.error_detail);
    done.attempt.response_excerpt = std::move(result.response_excerpt);
    work.delivery.attempt_count = number;

    logger().info("event={} delivery={} endpoint={} attempt={} status={} error={} ms={}{}",
                  work.payload->event_id, work.delivery.id, work.delivery.endpoint_id, number,
                  result.status ? std::to_string(*result.status) : "-",
                  result.error == retry::ErrorClass::kNone ? "-" : retry::to_string(result.error),
                  result.duration_ms, result.reused_connection ? " reused=1" : "");
    if (!done.attempt.error_detail.empty()) {
      logger().debug("delivery={} detail={}", work.delivery.id, done.attempt.error_detail);
    }

    switch (decision.verdict) {
      case retry::Verdict::kDelivered:
        done.new_state = DeliveryState::kDelivered;
        ++counters.delivered;
        --in_memory;
        break;
      case retry::Verdict::kGiveUp:
        done.new_state = DeliveryState::kFailed;
        ++counters.failed;
        --in_memory;
        logger().warn("delivery={} endpoint={} failed after {} attempts", work.delivery.id,
                      work.delivery.endpoint_id, number);
        break;
      case retry::Verdict::kRetry:
        done.new_state = DeliveryState::kPending;
        done.next_attempt_at = decision.next_attempt_at;
        work.delivery.state = DeliveryState::kPending;
        work.delivery.next_attempt_at = decision.next_attempt_at;
        if (!stopping && decision.next_attempt_at - now <= options.horizon.count()) {
          done.lease_until = kHeld;
          schedule(std::move(work));
        } else {
          done.lease_until = 0;  // back to the store; claimed again when due
          --in_memory;
          arm_cold_timer(decision.next_attempt_at);
        }
        break;
    }
    store.complete_attempts({std::move(done)}, [](Result<Unit> r) {
      if (!r.ok()) logger().error("recording an attempt failed: {}", r.error().message);
    });

    if (!state.ready.empty() && !state.listed) {
      state.listed = true;
      ready_targets.push_back(target_id);
    }
    if (stopping) {
      if (in_flight == 0) finish_stop();
      return;
    }
    pump();
    maybe_fetch();
  }

  const Target* find(const std::string& id) const {
    auto it = targets.find(id);
    return it == targets.end() ? nullptr : &it->second;
  }

  void schedule(store::Work work) {
    const TimeMs at = work.delivery.next_attempt_at;
    scheduled.emplace(at, std::move(work));
    arm_retry_timer();
  }

  void arm_retry_timer() {
    if (scheduled.empty() || stopping) return;
    const TimeMs at = scheduled.begin()->first;
    if (at >= retry_timer_at) return;
    retry_timer_at = at;
    retry_timer.expires_after(Millis(std::max<TimeMs>(0, at - clock.now_ms())));
    retry_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      retry_timer_at = kNever;
      release_due_retries();
    });
  }

  void release_due_retries() {
    const TimeMs now = clock.now_ms();
    while (!scheduled.empty() && scheduled.begin()->first <= now) {
      make_ready(std::move(scheduled.begin()->second));
      scheduled.erase(scheduled.begin());
    }
    arm_retry_timer();
    pump();
  }

  // Wakes up in time to claim stored work due at `due` (it then waits on the retry timer).
  void arm_cold_timer(TimeMs due) {
    const TimeMs wake = due - options.horizon.count() / 2;
    if (wake >= cold_timer_at || stopping) return;
    cold_timer_at = wake;
    cold_timer.expires_after(Millis(std::max<TimeMs>(0, wake - clock.now_ms())));
    cold_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      cold_timer_at = kNever;
      cold = true;
      maybe_fetch();
    });
  }

  std::size_t room() const {
    const std::size_t used = in_memory + reserved;
    const auto cap = static_cast<std::size_t>(options.memory_queue);
    return used >= cap ? 0 : cap - used;
  }

  void maybe_fetch() {
    if (stopping || fetching || !cold) return;
    const std::size_t free = room();
    // Wait for a worthwhile batch unless memory is nearly empty.
    const auto cap = static_cast<std::size_t>(options.memory_queue);
    if (free == 0 || (free < cap / 4 && in_memory > 0)) return;
    fetching = true;
    cold = false;
    const TimeMs now = clock.now_ms();
    const int limit = static_cast<int>(free);
    store.claim_due(now, now + options.horizon.count(), limit, kHeld,
                    [this, limit](Result<std::vector<store::Work>> claimed) {
                      fetching = false;
                      if (!claimed.ok()) {
                        logger().error("claiming due deliveries failed: {}",
                                       claimed.error().message);
                        arm_cold_timer(clock.now_ms() + options.horizon.count() / 2 + 1'000);
                        return;
                      }
                      const TimeMs now = clock.now_ms();
                      const bool maybe_more = static_cast<int>(claimed->size()) == limit;
                      for (auto& work : *claimed) {
                        ++in_memory;
                        if (stopping) continue;  // stays leased; recovered at the next start
                        if (work.delivery.next_attempt_at <= now) {
                          make_ready(std::move(work));
                        } else {
                          schedule(std::move(work));
                        }
                      }
                      if (maybe_more) cold = true;
                      if (!maybe_more && !cold) {
                        store.next_unleased_due(now, [this](Result<std::optional<TimeMs>> next) {
                          if (next.ok() && next->has_value()) arm_cold_timer(**next);
                        });
                      }
                      pump();
                      maybe_fetch();
                    });
  }

  void finish_stop() {
    grace_timer.cancel();
    if (on_stopped) {
      auto done = std::move(on_stopped);
      on_stopped = nullptr;
      asio::post(io, std::move(done));
    }
  }
};

Dispatcher::Dispatcher(asio::io_context& io, store::Store& store, delivery::Sender& sender,
                       const Clock& clock, Random& random, DispatcherOptions options)
    : impl_(std::make_unique<Impl>(io, store, sender, clock, random, options)) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::set_targets(std::vector<Target> targets) {
  impl_->targets.clear();
  for (auto& t : targets) {
    std::string id = t.id;
    impl_->targets.emplace(std::move(id), std::move(t));
  }
  // Parked work may have a usable target now.
  auto parked = std::move(impl_->parked);
  impl_->parked.clear();
  for (auto& work : parked) impl_->make_ready(std::move(work));
  impl_->pump();
}

const Target* Dispatcher::find_target(const std::string& id) const { return impl_->find(id); }

std::vector<const Target*> Dispatcher::route(const std::string& account_id,
                                             const std::string& type) const {
  std::vector<const Target*> out;
  for (const auto& [id, target] : impl_->targets) {
    if (target.enabled && target.account_id == account_id &&
        route::matches_any(target.event_types, type)) {
      out.push_back(&target);
    }
  }
  // Deterministic order (by id) whatever the hash map does.
  std::sort(out.begin(), out.end(), [](const Target* a, const Target* b) { return a->id < b->id; });
  return out;
}

void Dispatcher::set_signing_keys(std::map<std::string, sign::SigningKeys> keys) {
  impl_->keys = std::move(keys);
}

bool Dispatcher::reserve(std::size_t n) {
  if (impl_->stopping || impl_->room() < n) return false;
  impl_->reserved += n;
  return true;
}

void Dispatcher::release_reservation(std::size_t n) { impl_->reserved -= n; }

void Dispatcher::accept(std::vector<store::Work> work) {
  impl_->reserved -= work.size();
  impl_->in_memory += work.size();
  for (auto& w : work) {
    if (impl_->stopping) continue;  // leased; recovered at the next start
    impl_->make_ready(std::move(w));
  }
  impl_->pump();
}

void Dispatcher::notify_stored() {
  impl_->cold = true;
  impl_->maybe_fetch();
}

void Dispatcher::start() {
  impl_->cold = true;
  impl_->maybe_fetch();
}

void Dispatcher::stop(Millis grace, std::function<void()> done) {
  impl_->stopping = true;
  impl_->on_stopped = std::move(done);
  impl_->retry_timer.cancel();
  impl_->cold_timer.cancel();
  if (impl_->in_flight == 0) {
    impl_->finish_stop();
    return;
  }
  logger().info("waiting up to {} ms for {} attempts in flight", grace.count(), impl_->in_flight);
  impl_->grace_timer.expires_after(grace);
  impl_->grace_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    logger().warn(
        "{} attempts still in flight after the grace period; they will be retried "
        "at the next start",
        impl_->in_flight);
    impl_->finish_stop();
  });
}

DispatcherStats Dispatcher::stats() const {
  DispatcherStats s = impl_->counters;
  s.in_memory = impl_->in_memory;
  s.in_flight = impl_->in_flight;
  s.scheduled = impl_->scheduled.size();
  for (const auto& [id, state] : impl_->states) s.ready += state.ready.size();
  return s;
}

}  // namespace korehook::dispatch
