#include "korehook/version.hpp"

namespace korehook {

std::string_view version() { return "0.1.0"; }

}  // namespace korehook
