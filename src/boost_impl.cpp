// Compiles Boost.JSON and Boost.URL once for the whole project (Debian ships them header-only).
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
