// A directory of a test's own under /tmp, removed with everything in it when
// the test ends.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace pmtest {

struct TmpDir {
  std::string path;
  explicit TmpDir(const char* name = "pm-test") {
    std::string t = std::string("/tmp/") + name + "-XXXXXX";
    path = ::mkdtemp(t.data()) ? t : std::string();
  }
  ~TmpDir() {
    if (!path.empty()) (void)std::system(("rm -rf '" + path + "'").c_str());
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
  // Writes `text` to `name` (its directories made first) and returns its path.
  std::string put(const std::string& name, const std::string& text) const {
    std::string p = file(name);
    auto slash = p.rfind('/');
    (void)std::system(("mkdir -p '" + p.substr(0, slash) + "'").c_str());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

}  // namespace pmtest
