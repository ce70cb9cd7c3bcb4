// Decoding of ring-buffer records (bpf/pmtrace.h) into model events.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/event.h"
#include "util/result.h"

namespace pm::model {

// The wire version (PM_WIRE_VERSION of bpf/pmtrace.h, checked in decode.cpp)
// this build decodes; recordings carry the version of the pmtrace that made them.
inline constexpr int kWireVersion = 1;

enum class DecodeError {
  none,
  too_short,      // smaller than the common header
  size_mismatch,  // hdr.size disagrees with the record or the type's struct
  unknown_type,   // a type this version does not know (newer kernel side)
};

struct DecodeResult {
  DecodeError error = DecodeError::none;
  Event event;
};

// Never throws, never reads past `size`.
DecodeResult decode_record(const void* data, std::size_t size) noexcept;

// Decodes a struct pm_sockaddr's raw bytes.
SockAddr decode_sockaddr(std::uint16_t family, const std::uint8_t* raw, std::size_t len);

}  // namespace pm::model
