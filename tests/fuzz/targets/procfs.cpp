// target/procfs.h: any bytes as /proc/PID/stat (parse_stat) and as
// /proc/net/tcp (listening_inodes).
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "target/procfs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  pm::target::ProcInfo info;
  if (pm::target::parse_stat(s, info)) {
    // comm is everything between the first '(' and the last ')'.
    auto open = s.find('('), close = s.rfind(')');
    PM_FUZZ_CHECK(open != std::string::npos && close != std::string::npos && open < close);
    PM_FUZZ_CHECK(info.comm == s.substr(open + 1, close - open - 1));
  }
  for (std::uint16_t port : {0, 80, 8000}) {
    auto inodes = pm::target::listening_inodes(s, port);
    for (const auto& i : inodes) PM_FUZZ_CHECK(!i.empty() && i != "0" && s.find(i) != std::string::npos);
  }
  return 0;
}
