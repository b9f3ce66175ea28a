#include "korehook/dispatch/dispatcher.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "korehook/route/filter.hpp"
#include "korehook/util/time.hpp"
#include "log/log.hpp"

namespace korehook::dispatch {

namespace asio = boost::asio;

namespace {

// A delivery held in memory by this process: leased "for as long as the process lives".
// recover() clears every lease at startup, so a crash never strands work.
constexpr TimeMs kHeld = store::kLeaseHeld;
constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();
constexpr std::string_view kCallbackKeyPrefix = "callback ";

// Looked up once: it runs several times per delivery (log.hpp).
spdlog::logger& logger() {
  static spdlog::logger& module = log::get("dispatch");
  return module;
}

}  // namespace

struct Dispatcher::Impl {
  struct TargetState {
    std::deque<store::Work> ready;
    int in_flight = 0;
    bool listed = false;  // in ready_targets
    // Token bucket of the target's rate limit: up to one second of requests in a burst.
    double tokens = 0;
    TimeMs refilled_at = 0;
    std::unique_ptr<asio::steady_timer> rate_timer;  // armed while waiting for a token
  };

  asio::io_context& io;
  store::Store& store;
  delivery::Sender& sender;
  const Clock& clock;
  Random& random;
  DispatcherOptions options;

  std::unordered_map<std::string, Target> targets;
  // Callback deliveries wait per origin ("callback host:port"), with options.callback settings.
  std::unordered_map<std::string, Target> callback_targets;
  std::map<std::string, sign::SigningKeys> keys;
  std::unordered_map<std::string, TargetState> states;
  std::deque<std::string> ready_targets;         // round robin over targets with due work
  std::multimap<TimeMs, store::Work> scheduled;  // retries due within the horizon
  asio::steady_timer retry_timer;
  TimeMs retry_timer_at = kNever;
  asio::steady_timer cold_timer;
  TimeMs cold_timer_at = kNever;

  std::size_t in_memory = 0;  // ready + scheduled + in flight
  std::size_t reserved = 0;
  // Per store-level target (endpoint id, "" for callbacks): deliveries held in memory plus
  // room reserved for new ones. One target may hold about options.memory_per_endpoint, so a
  // dead endpoint cannot fill memory and starve the others.
  std::unordered_map<std::string, std::size_t> held;
  // Targets left out of the last claim because they held enough: the store may keep due work
  // for them, claimed once they have drained to a quarter of their share.
  std::unordered_set<std::string> excluded;
  bool cold = false;  // the store may hold unleased due work
  // What the last claim that found less than it asked for tells: the store holds no unleased
  // work due within the horizon for the targets outside `dry_except` (the ones it left out),
  // and the cold timer is armed for their later work. A claim that leaves out at least
  // `dry_except` would find nothing, so none is made: it would walk the left-out targets'
  // backlog in the due index for nothing. Forgotten (stored_for) when work may have been
  // stored for another target; `stored_epoch` counts those, so that a claim which ran before
  // the work was stored does not restore the knowledge.
  bool dry_known = false;
  std::unordered_set<std::string> dry_except;
  std::uint64_t stored_epoch = 0;
  bool fetching = false;
  bool fetch_posted = false;
  // Deliveries with an attempt underway (at most max_in_flight_total); its size is the
  // number of attempts in flight.
  std::unordered_set<std::string> attempting;
  // Attempt results of this turn of the event loop, sent as one command by flush_writes().
  std::vector<store::AttemptDone> completions;
  bool flush_posted = false;
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

  // The queue a delivery waits in: its endpoint id, or "callback <origin>" for a delivery to
  // the event's callback_url. Empty when a callback URL no longer parses (cannot happen for
  // URLs validated at submission).
  std::string queue_key(const store::Work& work) const {
    if (!work.delivery.endpoint_id.empty()) return work.delivery.endpoint_id;
    if (!work.payload || !work.payload->callback_url) return {};
    auto url = net::parse_https_url(*work.payload->callback_url);
    if (!url.ok()) return {};
    return std::string(kCallbackKeyPrefix) + url->origin();
  }

  // The target behind a queue key; a callback origin gets one on first use.
  Target* target_for(const std::string& key) {
    if (key.starts_with(kCallbackKeyPrefix)) {
      auto [it, inserted] = callback_targets.try_emplace(key, options.callback);
      if (inserted) it->second.id = key;
      return &it->second;
    }
    auto it = targets.find(key);
    return it == targets.end() ? nullptr : &it->second;
  }

  // `n` deliveries of `bucket` are in memory now (or room is reserved for them).
  void hold(const std::string& bucket, std::size_t n = 1, bool reservation = false) {
    (reservation ? reserved : in_memory) += n;
    held[bucket] += n;
  }

  // `n` deliveries of `bucket` left memory (or their reservation was released). A target that
  // was left out of claims and has drained far enough gets claimed for again.
  void unhold(const std::string& bucket, std::size_t n = 1, bool reservation = false) {
    (reservation ? reserved : in_memory) -= n;
    auto it = held.find(bucket);
    if (it == held.end() || it->second < n) {
      // Every hold has its unhold; this is a bookkeeping bug. Logged, and the count is not
      // taken below zero.
      logger().error("unhold of more than is held: bucket=\"{}\" n={} held={}", bucket, n,
                     it == held.end() ? 0 : it->second);
      if (it != held.end()) held.erase(it);
      return;
    }
    it->second -= n;
    const std::size_t left = it->second;
    if (left == 0) held.erase(it);
    if (!excluded.empty() && left <= share() / 4 && excluded.erase(bucket) > 0) {
      cold = true;
      if (!fetch_posted) {
        fetch_posted = true;
        asio::post(io, [this] {
          fetch_posted = false;
          maybe_fetch();
        });
      }
    }
  }

  std::size_t share() const { return static_cast<std::size_t>(options.memory_per_endpoint); }

  // Unleased work may have been stored for `bucket` (nullptr: for any target).
  void stored_for(const std::string* bucket) {
    ++stored_epoch;
    if (bucket == nullptr || !dry_except.contains(*bucket)) dry_known = false;
  }

  // Memory no longer holds `work`: its endpoint is disabled, and the store has parked it.
  // (The store keeps it leased; enabling the endpoint releases it.) One race is left: a
  // delivery appended while its endpoint was being disabled keeps the in-memory lease
  // (kLeaseHeld), which enabling does not release; the next start's recover() does.
  void forget(const store::Work& work, std::string_view why) {
    logger().debug("delivery={} endpoint={} leaves memory: {}", work.delivery.id,
                   work.delivery.endpoint_id, why);
    unhold(work.delivery.endpoint_id);
  }

  void make_ready(store::Work work) {
    const std::string key = queue_key(work);
    Target* target = key.empty() ? nullptr : target_for(key);
    if (target == nullptr) {
      // The endpoint was deleted or removed from the configuration: nowhere to deliver.
      // Cancelling keeps such deliveries from filling memory (they would wait forever).
      logger().warn("delivery={} endpoint={} cancelled: endpoint does not exist", work.delivery.id,
                    work.delivery.endpoint_id);
      store.cancel_deliveries({work.delivery.id});
      unhold(work.delivery.endpoint_id);
      return;
    }
    if (!target->enabled) return forget(work, "endpoint disabled");
    auto& state = states[key];
    state.ready.push_back(std::move(work));
    list(key, state);
  }

  void list(const std::string& key, TargetState& state) {
    if (state.listed || state.ready.empty()) return;
    state.listed = true;
    ready_targets.push_back(key);
  }

  // Takes a token of the target's rate limit; when there is none, arms the state's timer for
  // the next one and answers false.
  bool take_token(const std::string& key, const Target& target, TargetState& state, TimeMs now) {
    if (!target.rate_limit) return true;
    const double rate = *target.rate_limit;  // per second
    const double burst = std::max(1.0, rate);
    if (state.refilled_at == 0) {
      state.tokens = burst;
    } else {
      state.tokens = std::min(
          burst, state.tokens + static_cast<double>(now - state.refilled_at) * rate / 1000.0);
    }
    state.refilled_at = now;
    if (state.tokens >= 1.0) {
      state.tokens -= 1.0;
      return true;
    }
    if (!state.rate_timer) state.rate_timer = std::make_unique<asio::steady_timer>(io);
    const auto wait = Millis(static_cast<TimeMs>(std::ceil((1.0 - state.tokens) * 1000.0 / rate)));
    state.rate_timer->expires_after(std::max(wait, Millis(1)));
    state.rate_timer->async_wait([this, key](boost::system::error_code ec) {
      if (ec) return;
      auto it = states.find(key);
      if (it == states.end()) return;
      list(key, it->second);
      pump();
    });
    return false;
  }

  bool at_total_limit() const {
    return attempting.size() >= static_cast<std::size_t>(options.max_in_flight_total);
  }

  void pump() {
    std::size_t rounds = ready_targets.size();
    const TimeMs now = clock.now_ms();
    while (!stopping && rounds-- > 0 && !at_total_limit()) {
      std::string key = std::move(ready_targets.front());
      ready_targets.pop_front();
      auto& state = states[key];
      state.listed = false;
      Target* target = target_for(key);
      if (target == nullptr || !target->enabled) {  // removed or disabled meanwhile
        auto ready = std::move(state.ready);
        state.ready.clear();
        for (auto& work : ready) make_ready(std::move(work));
        continue;
      }
      while (state.in_flight < target->max_in_flight && !state.ready.empty()) {
        if (at_total_limit()) {
          // Its turn comes again when an attempt completes (at the back: round robin).
          list(key, state);
          break;
        }
        if (!take_token(key, *target, state, now)) break;  // listed again by the rate timer
        store::Work work = std::move(state.ready.front());
        state.ready.pop_front();
        start_attempt(key, *target, state, std::move(work));
      }
      // Targets at their in-flight limit are listed again when an attempt completes.
    }
  }

  // Drops from memory the waiting work of a target that is now disabled (parked by the store)
  // or gone (cancelled by the store).
  void drop_waiting(const std::string& key, std::string_view why) {
    auto it = states.find(key);
    if (it != states.end()) {
      for (const auto& work : it->second.ready) forget(work, why);
      it->second.ready.clear();
    }
    for (auto s = scheduled.begin(); s != scheduled.end();) {
      if (s->second.delivery.endpoint_id == key) {
        forget(s->second, why);
        s = scheduled.erase(s);
      } else {
        ++s;
      }
    }
  }

  // 410 Gone or failing too long: disabled here and in the store (which parks its deliveries).
  void disable(Target& target, DisabledReason reason, std::string detail) {
    target.enabled = false;
    logger().warn("endpoint={} disabled reason={} detail=\"{}\"", target.id, to_string(reason),
                  detail);
    drop_waiting(target.id, "endpoint disabled");
    store.set_endpoint_state("", target.id, reason, std::move(detail), clock.now_ms(),
                             [id = target.id](Result<EndpointRecord> r) {
                               if (!r.ok()) {
                                 logger().error("disabling endpoint={} failed: {}", id,
                                                r.error().message);
                               }
                             });
  }

  // Failing streaks and automatic disabling of endpoints (not of callbacks).
  void track_health(Target& target, const delivery::SendResult& result, TimeMs now) {
    if (result.status && *result.status == 410) {
      return disable(target, DisabledReason::kGone, "the receiver answered 410 Gone");
    }
    const bool ok = result.error == retry::ErrorClass::kNone;
    if (ok) {
      if (target.failing_since != 0) {
        target.failing_since = 0;
        store.set_endpoint_failing_since(target.id, 0);
      }
      return;
    }
    if (target.failing_since == 0) {
      target.failing_since = now;
      store.set_endpoint_failing_since(target.id, now);
      return;
    }
    if (target.disable_after.count() > 0 &&
        now - target.failing_since >= target.disable_after.count()) {
      disable(target, DisabledReason::kFailing,
              "every attempt failed since " + format_rfc3339(target.failing_since));
    }
  }

  void start_attempt(const std::string& key, const Target& target, TargetState& state,
                     store::Work work) {
    ++state.in_flight;
    ++counters.attempts;
    const int number = work.delivery.attempt_count + 1;
    const TimeMs now = clock.now_ms();
    attempting.insert(work.delivery.id);
    logger().debug("delivery={} endpoint={} attempt={} start", work.delivery.id, target.id, number);

    const store::Payload& payload = *work.payload;
    sign::AttemptInput input;
    input.token = work.delivery.token;
    input.content_type = payload.content_type;
    input.body = payload.body;
    input.now = now;
    static const sign::SigningKeys kNoKeys;
    auto keys_it = keys.find(payload.account_id);
    delivery::SendRequest request = attempt_request(
        target,
        work.delivery.endpoint_id.empty()
            ? net::parse_https_url(*payload.callback_url).value()  // checked in queue_key
            : target.url,
        input, keys_it == keys.end() ? kNoKeys : keys_it->second,
        std::shared_ptr<const std::string>(work.payload, &work.payload->body));

    sender.send(std::move(request),
                [this, key, number, work = std::move(work)](delivery::SendResult result) mutable {
                  on_result(key, std::move(work), number, std::move(result));
                });
  }

  void on_result(const std::string& key, store::Work work, int number,
                 delivery::SendResult result) {
    attempting.erase(work.delivery.id);
    auto& state = states[key];
    --state.in_flight;
    const TimeMs now = clock.now_ms();

    Target* target = target_for(key);
    if (target != nullptr && !work.delivery.endpoint_id.empty() && target->enabled) {
      track_health(*target, result, now);
    }
    // Disabled now or meanwhile: the delivery stays pending, parked in the store.
    const bool parked = target != nullptr && !target->enabled;

    retry::AttemptOutcome outcome{result.status, result.error, result.retry_after};
    const retry::RetryPolicy policy = target != nullptr ? target->retry : options.callback.retry;
    // Attempts count from the start of the current cycle (a redelivery starts a new one).
    const int in_cycle = std::max(1, number - work.delivery.cycle_start);
    const retry::Decision decision = retry::decide(policy, in_cycle, outcome, now, random);

    store::AttemptDone done;
    done.attempt.delivery_id = work.delivery.id;
    done.attempt.number = number;
    done.attempt.started_at = result.started_at;
    done.attempt.duration_ms = result.duration_ms;
    done.attempt.status_code = result.status;
    done.attempt.error = result.error;
    done.attempt.error_detail = std::move(result.error_detail);
    done.attempt.response_headers = std::move(result.response_headers);
    done.attempt.response_excerpt = std::move(result.response_excerpt);
    work.delivery.attempt_count = number;

    // Every attempt is recorded in the store; the log shows failed ones at info and the
    // successful ones at debug (at thousands per second they would flood the journal, which
    // also rate-limits a service's lines).
    const bool succeeded = result.error == retry::ErrorClass::kNone;
    const auto level = succeeded ? spdlog::level::debug : spdlog::level::info;
    if (logger().should_log(level)) {
      logger().log(level, "event={} delivery={} endpoint={} attempt={} status={} error={} ms={}{}",
                   work.payload->event_id, work.delivery.id, work.delivery.endpoint_id, number,
                   result.status ? std::to_string(*result.status) : "-",
                   succeeded ? "-" : retry::to_string(result.error), result.duration_ms,
                   result.reused_connection ? " reused=1" : "");
    }
    if (!done.attempt.error_detail.empty()) {
      logger().debug("delivery={} detail={}", work.delivery.id, done.attempt.error_detail);
    }

    if (parked && decision.verdict != retry::Verdict::kDelivered) {
      done.new_state = DeliveryState::kPending;
      done.next_attempt_at =
          decision.verdict == retry::Verdict::kRetry ? decision.next_attempt_at : now;
      done.lease_until = store::kLeaseParked;
      forget(work, "endpoint disabled");
    } else {
      switch_verdict(decision, now, work, done);
    }
    completions.push_back(std::move(done));
    post_flush();

    list(key, state);
    if (stopping) {
      if (attempting.empty()) finish_stop();
      return;
    }
    pump();
    maybe_fetch();
  }

  void post_flush() {
    if (flush_posted) return;
    flush_posted = true;
    asio::post(io, [this] { flush_writes(); });
  }

  // One command for the attempts this turn finished: they share the store's work (one
  // savepoint, one queue hand-off).
  void flush_writes() {
    flush_posted = false;
    if (!completions.empty()) {
      store.complete_attempts(std::exchange(completions, {}), [](Result<Unit> r) {
        if (!r.ok()) logger().error("recording attempts failed: {}", r.error().message);
      });
    }
  }

  void switch_verdict(const retry::Decision& decision, TimeMs now, store::Work& work,
                      store::AttemptDone& done) {
    switch (decision.verdict) {
      case retry::Verdict::kDelivered:
        done.new_state = DeliveryState::kDelivered;
        ++counters.delivered;
        unhold(work.delivery.endpoint_id);
        break;
      case retry::Verdict::kGiveUp:
        done.new_state = DeliveryState::kFailed;
        ++counters.failed;
        unhold(work.delivery.endpoint_id);
        logger().warn("delivery={} endpoint={} failed after {} attempts", work.delivery.id,
                      work.delivery.endpoint_id, done.attempt.number);
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
          stored_for(&work.delivery.endpoint_id);
          unhold(work.delivery.endpoint_id);
          arm_cold_timer(decision.next_attempt_at);
        }
        break;
    }
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
      stored_for(nullptr);  // stored work is due now
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
    // Targets holding half their share or more are left out; one claim takes at most one
    // share, so a target holds about 1.5 shares at most.
    std::vector<std::string> exclude;
    for (const auto& [bucket, n] : held) {
      if (n >= share() / 2) exclude.push_back(bucket);
    }
    cold = false;
    // Nothing to find when this claim leaves out every target the last empty one left out.
    const auto left_out_then = [&](const std::string& b) { return dry_except.contains(b); };
    if (dry_known && static_cast<std::size_t>(std::count_if(exclude.begin(), exclude.end(),
                                                            left_out_then)) == dry_except.size()) {
      // Claimed for again when a target left out drains (unhold).
      excluded.insert(exclude.begin(), exclude.end());
      logger().debug("claim not made: no stored work outside the {} targets left out",
                     exclude.size());
      return;
    }
    fetching = true;
    const TimeMs now = clock.now_ms();
    const int limit = static_cast<int>(std::min(free, share()));
    store.claim_due(
        now, now + options.horizon.count(), limit, kHeld, exclude,
        [this, limit, exclude, epoch = stored_epoch](Result<std::vector<store::Work>> claimed) {
          fetching = false;
          if (!claimed.ok()) {
            logger().error("claiming due deliveries failed: {}", claimed.error().message);
            arm_cold_timer(clock.now_ms() + options.horizon.count() / 2 + 1'000);
            return;
          }
          logger().debug("claim limit={} left_out={} claimed={}", limit, exclude.size(),
                         claimed->size());
          const TimeMs now = clock.now_ms();
          const bool maybe_more = static_cast<int>(claimed->size()) == limit;
          for (auto& work : *claimed) {
            hold(work.delivery.endpoint_id);
            if (stopping) continue;  // stays leased; recovered at the next start
            if (work.delivery.next_attempt_at <= now) {
              make_ready(std::move(work));
            } else {
              schedule(std::move(work));
            }
          }
          // The store may hold due work for the targets left out; they are claimed for
          // again when they drain (unhold) - unless they drained while the claim ran.
          for (const auto& bucket : exclude) {
            auto it = held.find(bucket);
            if (it != held.end() && it->second > share() / 4) {
              excluded.insert(bucket);
            } else {
              cold = true;
            }
          }
          if (maybe_more) cold = true;
          if (!cold) {
            store.next_unleased_due(now, exclude,
                                    [this, exclude, epoch](Result<std::optional<TimeMs>> next) {
                                      if (!next.ok()) return;
                                      if (next->has_value()) arm_cold_timer(**next);
                                      if (epoch == stored_epoch) {
                                        dry_known = true;
                                        dry_except = {exclude.begin(), exclude.end()};
                                      }
                                    });
          }
          pump();
          maybe_fetch();
        });
  }

  void finish_stop() {
    flush_writes();
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

delivery::SendRequest attempt_request(const Target& target, net::HttpsUrl url,
                                      sign::AttemptInput input, const sign::SigningKeys& keys,
                                      std::shared_ptr<const std::string> body) {
  delivery::SendRequest request;
  request.url = std::move(url);
  input.url = request.url.url;
  input.kore = target.kore_signature;
  input.standard = target.standard_signature;
  request.headers = sign::attempt_headers(input, keys);
  request.headers.insert(request.headers.end(), target.headers.begin(), target.headers.end());
  request.body = std::move(body);
  request.connect_timeout = target.connect_timeout;
  request.read_timeout = target.read_timeout;
  request.timeout = target.timeout;
  request.ca_file = target.ca_file;
  return request;
}

Target target_from_endpoint(const EndpointRecord& endpoint) {
  const EndpointSettings& s = endpoint.settings;
  Target t;
  t.id = endpoint.id;
  t.account_id = endpoint.account_id;
  t.url = net::parse_https_url(s.url).value();  // validated before it was stored
  t.event_types = s.event_types;
  t.enabled = endpoint.enabled();
  const AttemptTimeouts timeouts = attempt_timeouts(s, endpoint.kind);
  t.connect_timeout = timeouts.connect;
  t.read_timeout = timeouts.read;
  t.timeout = timeouts.total;
  t.retry = s.retry;
  t.max_in_flight = s.max_in_flight;
  t.rate_limit = s.rate_limit;
  t.disable_after = s.disable_after;
  t.failing_since = endpoint.failing_since;
  t.ca_file = s.ca_file;
  t.headers = s.headers;
  t.kore_signature = s.kore_signature;
  t.standard_signature = s.standard_signature;
  return t;
}

void Dispatcher::set_targets(std::vector<Target> targets) {
  std::vector<std::string> old_ids;
  for (const auto& [id, target] : impl_->targets) old_ids.push_back(id);
  impl_->targets.clear();
  for (auto& t : targets) {
    std::string id = t.id;
    impl_->targets.emplace(std::move(id), std::move(t));
  }
  for (const auto& id : old_ids) {
    const Target* now = impl_->find(id);
    if (now == nullptr) remove_target(id);
  }
  for (const auto& [id, target] : impl_->targets) {
    if (!target.enabled) impl_->drop_waiting(id, "endpoint disabled");
  }
  impl_->pump();
}

void Dispatcher::upsert_target(Target target) {
  std::string id = target.id;
  const bool enabled = target.enabled;
  impl_->targets.insert_or_assign(id, std::move(target));
  if (!enabled) {
    impl_->drop_waiting(id, "endpoint disabled");
    return;
  }
  if (auto it = impl_->states.find(id); it != impl_->states.end()) impl_->list(id, it->second);
  impl_->pump();
}

void Dispatcher::remove_target(const std::string& id) {
  impl_->targets.erase(id);
  // The store cancelled the endpoint's live deliveries; memory lets them go.
  impl_->drop_waiting(id, "endpoint deleted");
}

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

bool Dispatcher::reserve(const std::vector<std::string>& endpoint_ids) {
  if (impl_->stopping || impl_->room() < endpoint_ids.size()) return false;
  std::unordered_map<std::string, std::size_t> wanted;
  for (const auto& id : endpoint_ids) ++wanted[id];
  for (const auto& [id, n] : wanted) {
    auto it = impl_->held.find(id);
    const std::size_t now = it == impl_->held.end() ? 0 : it->second;
    if (now + n > impl_->share()) return false;
  }
  for (const auto& [id, n] : wanted) impl_->hold(id, n, true);
  return true;
}

void Dispatcher::release_reservation(const std::vector<std::string>& endpoint_ids) {
  for (const auto& id : endpoint_ids) impl_->unhold(id, 1, true);
}

void Dispatcher::accept(std::vector<store::Work> work) {
  for (auto& w : work) {
    impl_->unhold(w.delivery.endpoint_id, 1, true);
    impl_->hold(w.delivery.endpoint_id);
  }
  for (auto& w : work) {
    if (impl_->stopping) continue;  // leased; recovered at the next start
    impl_->make_ready(std::move(w));
  }
  impl_->pump();
}

void Dispatcher::notify_stored() {
  impl_->stored_for(nullptr);
  impl_->cold = true;
  impl_->maybe_fetch();
}

void Dispatcher::notify_stored(const std::vector<std::string>& endpoint_ids) {
  for (const auto& id : endpoint_ids) impl_->stored_for(&id);
  const bool all_waiting =
      std::all_of(endpoint_ids.begin(), endpoint_ids.end(),
                  [this](const std::string& id) { return impl_->excluded.contains(id); });
  if (all_waiting && !endpoint_ids.empty()) return;
  impl_->cold = true;
  impl_->maybe_fetch();
}

void Dispatcher::start() {
  impl_->stored_for(nullptr);
  impl_->cold = true;
  impl_->maybe_fetch();
}

void Dispatcher::stop(Millis grace, std::function<void()> done) {
  impl_->stopping = true;
  impl_->on_stopped = std::move(done);
  impl_->retry_timer.cancel();
  impl_->cold_timer.cancel();
  if (impl_->attempting.empty()) {
    impl_->finish_stop();
    return;
  }
  logger().info("waiting up to {} ms for {} attempts in flight", grace.count(),
                impl_->attempting.size());
  impl_->grace_timer.expires_after(grace);
  impl_->grace_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    logger().warn(
        "{} attempts still in flight after the grace period; they will be retried "
        "at the next start",
        impl_->attempting.size());
    impl_->finish_stop();
  });
}

DispatcherStats Dispatcher::stats() const {
  DispatcherStats s = impl_->counters;
  s.in_memory = impl_->in_memory;
  s.in_flight = impl_->attempting.size();
  s.scheduled = impl_->scheduled.size();
  for (const auto& [id, state] : impl_->states) s.ready += state.ready.size();
  return s;
}

bool Dispatcher::attempting(const std::string& delivery_id) const {
  return impl_->attempting.contains(delivery_id);
}

std::vector<std::string> Dispatcher::attempting_ids() const {
  return {impl_->attempting.begin(), impl_->attempting.end()};
}

}  // namespace korehook::dispatch
