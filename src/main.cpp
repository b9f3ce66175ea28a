// korehookd: the webhook delivery daemon. Parses the command line and hands over to app/.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "korehook/app/daemon.hpp"
#include "korehook/config/config.hpp"
#include "korehook/version.hpp"

#if KOREHOOK_MIMALLOC
#include <mimalloc.h>
#endif

namespace {

// The allocator that malloc reaches in this process: mimalloc only when it really took over
// malloc (the link order decides), otherwise the C library's.
std::string allocator() {
#if KOREHOOK_MIMALLOC
  void* probe = std::malloc(64);
  const bool ours = mi_is_in_heap_region(probe);
  std::free(probe);
  if (ours) {
    const int v = mi_version();
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." +
           std::to_string(v % 10);
  }
  return "libc (mimalloc linked but not in use)";
#else
  return "libc";
#endif
}

constexpr const char* kUsage =
    "usage: korehookd [--config FILE] [--check-config]\n"
    "\n"
    "  --config FILE    configuration (default /etc/korehook/korehook.yaml)\n"
    "  --check-config   validate the configuration and exit\n"
    "  --version        print the version\n";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/korehook/korehook.yaml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(std::strlen("--config="));
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::printf("korehookd %s\nallocator: %s\n", std::string(korehook::version()).c_str(),
                  allocator().c_str());
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "korehookd: unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }

  korehook::config::Config config;
  try {
    config = korehook::config::load_config_file(config_path);
  } catch (const korehook::config::ConfigError& e) {
    std::fprintf(stderr, "korehookd: invalid configuration: %s\n", e.what());
    return 2;
  }
  if (check_only) {
    std::printf("%s: ok (%zu endpoints)\n", config_path.c_str(), config.endpoints.size());
    return 0;
  }

  korehook::app::setup_logging(config.log.level);
  try {
    return korehook::app::run_daemon(std::move(config), config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "korehookd: fatal: %s\n", e.what());
    return 1;
  }
}
