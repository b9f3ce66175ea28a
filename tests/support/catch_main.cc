// The Catch2 main, shared by every test binary (.cc so the support library's glob skips it).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
