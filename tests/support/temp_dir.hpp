#pragma once

#include <string>
#include <string_view>

namespace korehook::testing {

// A fresh directory /tmp/kh-XXXXXX (short, so Unix socket paths inside stay far below the
// 108-byte sun_path limit), removed with its contents on destruction. Set the environment
// variable KOREHOOK_KEEP_TEST_DIRS=1 to keep it for debugging.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(std::string_view name) const;

 private:
  std::string path_;
};

// Writes `content` to `path` (truncating). Throws std::runtime_error on failure.
void write_file(const std::string& path, std::string_view content);
// The whole file, or "" when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace korehook::testing
