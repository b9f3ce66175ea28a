#include "cli/parse.hpp"

#include <algorithm>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "korehook/util/time.hpp"
#include "korehook/version.hpp"

namespace korehook::cli {

namespace {

const std::vector<FlagSpec>& global_flags() {
  static const std::vector<FlagSpec> kFlags = {
      {"socket", "PATH",
       "API socket of korehookd (default: $KOREHOOK_SOCKET, else /run/korehook/api.sock)"},
      {"json", "", "Print the daemon's JSON answer as is (for scripts)"},
      {"timeout", "DURATION", "How long to wait for the daemon, e.g. 500ms, 10s (default 30s)"},
      {"help", "", "Show help; also `korehook help [COMMAND]` (short: -h)"},
      {"version", "", "Print the version"},
  };
  return kFlags;
}

const FlagSpec* find_flag(const std::vector<FlagSpec>& flags, std::string_view name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool is_command_flag(std::string_view name) {
  for (const CommandSpec& command : all_commands()) {
    if (command.flag(name)) return true;
  }
  return false;
}

std::string help_hint(std::string_view topic) {
  std::string hint = "\n(see 'korehook help";
  if (!topic.empty()) hint.append(" ").append(topic);
  hint += "')";
  return hint;
}

Error usage(std::string message, std::string_view topic) {
  return usage_error(std::move(message) + help_hint(topic));
}

// The commands directly under `group` ("" for the top level), e.g. "create, list, activate".
std::string subcommands(std::string_view group) {
  std::vector<std::string_view> seen;
  std::string out;
  for (const CommandSpec& command : all_commands()) {
    std::string_view rest = command.path;
    if (!group.empty()) {
      if (!rest.starts_with(group) || rest.size() <= group.size() || rest[group.size()] != ' ') {
        continue;
      }
      rest.remove_prefix(group.size() + 1);
    }
    const std::string_view word = rest.substr(0, rest.find(' '));
    if (std::find(seen.begin(), seen.end(), word) != seen.end()) continue;
    seen.push_back(word);
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::span<const std::string> args) : args_(args) {}

  Result<Invocation> parse() {
    while (next_ < args_.size()) {
      const std::string& token = args_[next_++];
      if (!options_done_ && token == "--") {
        options_done_ = true;
      } else if (!options_done_ && token.size() > 1 && token[0] == '-') {
        if (auto r = option(token); !r) return r.error();
      } else if (auto r = word(token); !r) {
        return r.error();
      }
    }
    return finish();
  }

 private:
  Result<Unit> option(const std::string& token) {
    std::string_view name;
    std::optional<std::string_view> inline_value;
    if (token == "-h") {
      name = "help";
    } else if (token.starts_with("--")) {
      name = std::string_view(token).substr(2);
      if (const auto eq = name.find('='); eq != std::string_view::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
    } else {
      return usage("unknown option '" + token + "'", path_);
    }

    const FlagSpec* spec = find_flag(global_flags(), name);
    const bool global = spec != nullptr;
    if (!spec && command_) spec = command_->flag(name);
    if (!spec) {
      if (command_) {
        return usage("unknown option '--" + std::string(name) + "' for 'korehook " + path_ + "'",
                     path_);
      }
      return usage("unknown option '--" + std::string(name) + "'" +
                       (is_command_flag(name) ? " (a command's options go after the command)" : ""),
                   path_);
    }

    std::string value;
    if (spec->value_name.empty()) {
      if (inline_value) return usage("--" + std::string(name) + " takes no value", path_);
    } else if (inline_value) {
      value = *inline_value;
    } else if (next_ < args_.size()) {
      value = args_[next_++];  // taken as is, even when it starts with '-' (e.g. --data -1)
    } else {
      return usage(
          "--" + std::string(name) + " needs a value (" + std::string(spec->value_name) + ")",
          path_);
    }

    if (global) return global_option(name, std::move(value));
    auto& values = args_out_.flags[std::string(name)];
    if (!values.empty() && !spec->repeatable) {
      return usage("--" + std::string(name) + " given more than once", path_);
    }
    values.push_back(std::move(value));
    return Unit{};
  }

  Result<Unit> global_option(std::string_view name, std::string value) {
    if (name == "help") {
      help_ = true;
    } else if (name == "version") {
      version_ = true;
    } else if (name == "json") {
      global_.json = true;
    } else if (name == "socket") {
      if (value.empty()) return usage("--socket needs a non-empty PATH", path_);
      global_.socket = std::move(value);
    } else if (name == "timeout") {
      const auto timeout = parse_duration(value);
      if (!timeout || timeout->count() <= 0) {
        return usage(
            "--timeout must be a positive duration such as 500ms, 10s or 2m, not '" + value + "'",
            path_);
      }
      global_.timeout = *timeout;
    }
    return Unit{};
  }

  Result<Unit> word(const std::string& token) {
    if (help_command_) {
      help_words_.push_back(token);
      return Unit{};
    }
    if (command_) {
      args_out_.operands.push_back(token);
      return Unit{};
    }
    if (path_.empty() && token == "help") {
      help_command_ = true;
      return Unit{};
    }
    std::string candidate = path_.empty() ? token : path_ + " " + token;
    if (const CommandSpec* command = find_command(candidate)) {
      command_ = command;
    } else if (!is_group(candidate)) {
      if (path_.empty()) {
        return usage("unknown command '" + token + "'; commands: " + subcommands(""), "");
      }
      return usage("unknown command 'korehook " + candidate + "'; '" + path_ +
                       "' has: " + subcommands(path_),
                   path_);
    }
    path_ = std::move(candidate);
    return Unit{};
  }

  Result<Invocation> finish() {
    Invocation out;
    out.global = std::move(global_);
    if (version_) {
      out.action = Invocation::Action::kVersion;
      return out;
    }
    if (help_command_) {
      std::string topic;
      for (const std::string& w : help_words_) topic += (topic.empty() ? "" : " ") + w;
      if (!topic.empty() && !find_command(topic) && !is_group(topic)) {
        return usage("no help for unknown command '" + topic + "'", "");
      }
      out.action = Invocation::Action::kHelp;
      out.help_topic = std::move(topic);
      return out;
    }
    if (help_) {
      out.action = Invocation::Action::kHelp;
      out.help_topic = path_;
      return out;
    }
    if (!command_) {
      if (path_.empty()) return usage("missing command; commands: " + subcommands(""), "");
      return usage("'korehook " + path_ + "' needs a command: " + subcommands(path_), path_);
    }
    const auto& operands = command_->operands;
    if (args_out_.operands.size() < operands.size()) {
      return usage("missing " + std::string(operands[args_out_.operands.size()]) +
                       " for 'korehook " + path_ + "'",
                   path_);
    }
    if (args_out_.operands.size() > operands.size()) {
      return usage("unexpected argument '" + args_out_.operands[operands.size()] +
                       "' for 'korehook " + path_ + "'",
                   path_);
    }
    out.action = Invocation::Action::kRun;
    out.command = command_;
    out.args = std::move(args_out_);
    return out;
  }

  std::span<const std::string> args_;
  std::size_t next_ = 0;
  bool options_done_ = false;
  bool help_ = false;
  bool version_ = false;
  bool help_command_ = false;
  std::vector<std::string> help_words_;
  std::string path_;  // command words seen so far
  const CommandSpec* command_ = nullptr;
  GlobalOptions global_;
  Args args_out_;
};

// `text` broken into lines of at most `width` characters at spaces.
std::string wrap(std::string_view text, std::size_t width = 80) {
  std::string out;
  std::size_t line = 0;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    if (line > 0 && line + 1 + word.size() > width) {
      out += '\n';
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out += word;
    line += word.size();
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  }
  return out;
}

std::string flag_label(const FlagSpec& f) {
  std::string label = "--";
  label.append(f.name);
  if (!f.value_name.empty()) label.append(" ").append(f.value_name);
  return label;
}

std::string options_table(const std::vector<FlagSpec>& flags) {
  std::vector<Row> rows;
  for (const FlagSpec& f : flags) {
    rows.push_back({flag_label(f), std::string(f.help) + (f.repeatable ? " (repeatable)" : "")});
  }
  return format_table({}, rows, 2);
}

std::string commands_table(std::string_view group) {
  std::vector<Row> rows;
  for (const CommandSpec& command : all_commands()) {
    if (group.empty() || (command.path.starts_with(group) && command.path.size() > group.size() &&
                          command.path[group.size()] == ' ')) {
      rows.push_back({std::string(command.path), std::string(command.summary)});
    }
  }
  return format_table({}, rows, 2);
}

}  // namespace

Result<Invocation> parse_command_line(std::span<const std::string> args) {
  return Parser(args).parse();
}

std::string default_socket_path(const char* env_value) {
  if (env_value && *env_value) return env_value;
  return std::string(kDefaultSocket);
}

std::string help_text(std::string_view topic) {
  if (const CommandSpec* command = find_command(topic)) {
    std::string out = "Usage: korehook " + std::string(command->synopsis) + "\n\n" +
                      std::string(command->summary) + ".\n";
    if (!command->details.empty()) out += wrap(command->details) + "\n";
    if (!command->flags.empty()) out += "\nOptions:\n" + options_table(command->flags);
    out += "\nGlobal options: --socket PATH, --json, --timeout DURATION (see 'korehook help')\n";
    return out;
  }
  if (!topic.empty()) {
    return "Usage: korehook " + std::string(topic) + " <command> [options]\n\nCommands:\n" +
           commands_table(topic) + "\nRun 'korehook help " + std::string(topic) +
           " <command>' for a command's options.\n";
  }
  return "korehook " + std::string(version()) +
         " - command-line client of korehookd, the webhook delivery daemon\n\n"
         "Usage: korehook [global options] <command> [options]\n\nCommands:\n" +
         commands_table("") + "\nGlobal options:\n" + options_table(global_flags()) +
         "\nExit status: 0 success, 1 the daemon answered an error (or a test event failed), "
         "2 usage error, "
         "3 korehookd is not running.\n"
         "Run 'korehook help <command>' for a command's options.\n";
}

}  // namespace korehook::cli
