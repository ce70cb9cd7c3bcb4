// Building synthetic model events for unit tests.
#pragma once

#include <cstdint>
#include <string>

#include "model/event.h"

namespace pmtest {

inline pm::model::Event event(pm::model::EventType type, std::uint32_t pid, pm::model::Payload body,
                              std::uint64_t ts = 0, std::string comm = "gunicorn") {
  pm::model::Event e;
  e.hdr.type = type;
  e.hdr.pid = pid;
  e.hdr.tid = pid;
  e.hdr.ts_ns = ts;
  e.hdr.comm = std::move(comm);
  e.body = std::move(body);
  return e;
}

}  // namespace pmtest
