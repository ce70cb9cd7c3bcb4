// model/decode.h decode_record: any bytes as one ring-buffer record
// (bpf/pmtrace.h), at an odd address; and decode_sockaddr on the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <variant>

#include "check.h"
#include "model/decode.h"
#include "pmtrace.h"

using namespace pm::model;

namespace {

void touch(const SockAddr& a) { (void)a.to_string(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy one byte past an aligned start, ending exactly at the end of its
  // allocation: a misaligned or out-of-bounds read is reported.
  std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[size + 1]);
  if (size) std::memcpy(buf.get() + 1, data, size);
  const std::uint8_t* rec = buf.get() + 1;

  DecodeResult r = decode_record(rec, size);
  if (r.error == DecodeError::none) {
    PM_FUZZ_CHECK(size >= sizeof(pm_hdr));
    pm_hdr h;
    std::memcpy(&h, rec, sizeof h);
    PM_FUZZ_CHECK(h.size == size);
    PM_FUZZ_CHECK(static_cast<std::uint16_t>(r.event.hdr.type) == h.type);
    PM_FUZZ_CHECK(consistent(r.event));
    PM_FUZZ_CHECK(r.event.hdr.comm.size() <= PM_COMM_LEN);
    std::visit(
        [](const auto& p) {
          using T = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<T, Connect> || std::is_same_v<T, Bind>) touch(p.addr);
          if constexpr (std::is_same_v<T, TcpConnect>) touch(p.peer);
          if constexpr (std::is_same_v<T, Listen>) touch(p.addr);
          if constexpr (std::is_same_v<T, Milestone>) touch(p.peer);
          if constexpr (std::is_same_v<T, Write>) {
            PM_FUZZ_CHECK(p.head.size() <= PM_WRITE_HEAD && p.tail.size() <= PM_WRITE_TAIL);
            (void)p.skipped();
          }
        },
        r.event.body);
  } else {
    PM_FUZZ_CHECK(r.error == DecodeError::too_short || r.error == DecodeError::size_mismatch ||
                  r.error == DecodeError::unknown_type);
  }

  if (size >= 2) {
    std::uint16_t family;
    std::memcpy(&family, rec, 2);
    touch(decode_sockaddr(family, rec + 2, size - 2));
  }
  return 0;
}
