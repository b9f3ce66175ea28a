#include "cli/run.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <ostream>

#include "cli/output.hpp"
#include "cli/parse.hpp"
#include "korehook/client/client.hpp"
#include "korehook/version.hpp"

namespace korehook::cli {

namespace {

void print_raw(std::ostream& out, std::string_view body) {
  out << body;
  if (!body.empty() && body.back() != '\n') out << '\n';
}

}  // namespace

ExitCode run(std::span<const std::string> args, std::ostream& out, std::ostream& err,
             std::string_view default_socket) {
  auto parsed = parse_command_line(args);
  if (!parsed) {
    err << "korehook: " << parsed.error().message << '\n';
    return ExitCode::kUsage;
  }
  Invocation& invocation = *parsed;
  switch (invocation.action) {
    case Invocation::Action::kVersion:
      out << "korehook " << version() << '\n';
      return ExitCode::kOk;
    case Invocation::Action::kHelp:
      out << help_text(invocation.help_topic);
      return ExitCode::kOk;
    case Invocation::Action::kRun:
      break;
  }

  const CommandSpec& command = *invocation.command;
  auto request = command.build(invocation.args);
  if (!request) {
    err << "korehook " << command.path << ": " << request.error().message
        << "\n(see 'korehook help " << command.path << "')\n";
    return ExitCode::kUsage;
  }

  const std::string socket = invocation.global.socket.value_or(std::string(default_socket));
  client::Client client(socket, invocation.global.timeout);
  auto response = client.request(request->method, request->target, request->body);
  if (!response) {
    err << "error: " << display(response.error().message) << '\n';
    if (response.error().code == "not_running") {
      err << "Start korehookd, or point korehook at its API socket with --socket PATH (or "
             "the KOREHOOK_SOCKET environment variable).\n";
      return ExitCode::kNotRunning;
    }
    return ExitCode::kApiError;
  }

  const bool success = response->status >= 200 && response->status < 300;
  if (invocation.global.json) print_raw(out, response->body);
  if (!success) {
    err << format_api_error(response->status, response->body) << '\n';
    return ExitCode::kApiError;
  }
  boost::json::error_code ec;
  // 204 No Content (e.g. a delete) has no body to parse: the renderer gets null.
  const boost::json::value answer =
      response->status == 204 ? boost::json::value() : parse_answer(response->body, ec);
  const bool reported_failure = !ec && command.succeeded && !command.succeeded(answer);
  if (invocation.global.json) return reported_failure ? ExitCode::kApiError : ExitCode::kOk;
  if (ec) {
    err << "error: korehookd answered HTTP " << response->status
        << " with a body that is not JSON (" << ec.message() << ")\n";
    return ExitCode::kApiError;
  }
  out << command.render(answer);
  return reported_failure ? ExitCode::kApiError : ExitCode::kOk;
}

}  // namespace korehook::cli
