// target/cgroup.h find_cgroup2_mount: any bytes as /proc/mounts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "target/cgroup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  std::string m = pm::target::find_cgroup2_mount(s);
  // One field of one line.
  PM_FUZZ_CHECK(m.find(' ') == std::string::npos && m.find('\n') == std::string::npos);
  if (!m.empty()) PM_FUZZ_CHECK(s.find(m) != std::string::npos);
  return 0;
}
