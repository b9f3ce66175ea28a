#pragma once

// Private to the store: the unit of work the store thread runs (SqliteStore::Command), and
// make_op(), which turns a lambda returning Result<T> plus a Callback<T> into one.

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "store/log.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_store.hpp"

namespace korehook::store {

inline Error store_error(std::string message) { return Error{"store_error", std::move(message)}; }

inline Error to_error(const sqlite::SqliteError& e) {
  // A constraint that the checks before the statement did not catch: a duplicate id or
  // attempt number, or a reference to a row that does not exist.
  if (e.is_constraint()) return Error{"conflict", e.what()};
  return store_error(e.what());
}

// What a command does to the database, which decides how its transaction commits.
enum class Access {
  kRead,
  kWrite,  // durable: its transaction is fsync'd before the caller hears of it
  // The dispatcher's bookkeeping (claims, attempt results, in-flight marks): a transaction of
  // such commands only commits with synchronous=NORMAL (no fsync of its own; the next durable
  // commit or a checkpoint syncs it). A power loss can undo the last of them, which at worst
  // sends a delivery again: at-least-once allows it.
  kBookkeeping,
};

class SqliteStore::Command {
 public:
  Command(const char* name, Access access) : name_(name), access_(access) {}
  virtual ~Command() = default;

  const char* name() const { return name_; }
  bool writes() const { return access_ != Access::kRead; }
  bool durable() const { return access_ == Access::kWrite; }
  bool bookkeeping() const { return access_ == Access::kBookkeeping; }

  // Runs inside the open transaction; false when the command failed and whatever it changed
  // must be undone. May throw SqliteError.
  virtual bool run() = 0;
  virtual bool failed() const = 0;  // ran (or was failed) with an error
  virtual void fail(Error error) = 0;
  // Hands the result to the caller; only after the transaction ended.
  virtual void finish(const Poster& post) = 0;

  // A command that may run twice: its body reads and writes the database (and logs) and
  // nothing else, and keeps its inputs until release(). Consecutive replayable write
  // commands share one savepoint (SqliteStore::run_group); when one of them fails, the
  // group is rolled back and each runs again under its own.
  bool replayable() const { return replayable_; }
  void set_replayable() { replayable_ = true; }
  // Frees what the body holds (an append's event bodies), once the command will not run
  // again; a command that is not replayable frees it as soon as it ran.
  virtual void release() = 0;

 private:
  const char* name_;
  Access access_;
  bool replayable_ = false;
};

enum class Completion {
  kPost,    // through the Poster
  kDirect,  // on the store thread (a synchronous caller waits for it)
};

template <class T, class Body>
class Op final : public SqliteStore::Command {
 public:
  Op(const char* name, Access access, Body body, Callback<T> done, Completion completion)
      : Command(name, access),
        body_(std::move(body)),
        done_(std::move(done)),
        completion_(completion) {}

  bool run() override {
    result_.emplace((*body_)());
    // What the body holds is freed on the store thread, not after the fsync and the
    // completion: now, or after the transaction when the command may run again.
    if (!replayable()) body_.reset();
    return result_->ok();
  }
  void release() override { body_.reset(); }
  bool failed() const override { return result_ && !result_->ok(); }
  void fail(Error error) override { result_.emplace(std::move(error)); }

  void finish(const Poster& post) override {
    if (!result_) result_.emplace(store_error("command was not run"));
    if (!result_->ok() && result_->error().code == "store_error") {
      logger().error("command failed op={} msg=\"{}\"", name(), result_->error().message);
    }
    if (!done_) return;
    if (completion_ == Completion::kDirect) {
      done_(std::move(*result_));
      return;
    }
    post([done = std::move(done_), result = std::move(*result_)]() mutable {
      done(std::move(result));
    });
  }

 private:
  std::optional<Body> body_;
  Callback<T> done_;
  Completion completion_;
  std::optional<Result<T>> result_;
};

template <class T, class Body>
std::unique_ptr<SqliteStore::Command> make_op(const char* name, Access access, Body body,
                                              Callback<T> done,
                                              Completion completion = Completion::kPost) {
  return std::make_unique<Op<T, Body>>(name, access, std::move(body), std::move(done), completion);
}

inline constexpr Access kWrite = Access::kWrite;
inline constexpr Access kRead = Access::kRead;
inline constexpr Access kBookkeeping = Access::kBookkeeping;

}  // namespace korehook::store
