// The flight recorder: the recent events of one service, bounded in bytes.
// When a new event does not fit, the oldest go, and are counted: memory stays
// flat under a flood, and the report says how much of the past is missing.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "model/event.h"

namespace pm::watch {

// What an event costs in memory: its struct and the bytes of its strings.
std::size_t approx_bytes(const model::Event& e);

class Window {
 public:
  explicit Window(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  void push(model::Event e);
  // Removes and returns the events up to and including ts_ns, oldest first.
  std::vector<model::Event> take_until(std::uint64_t ts_ns);

  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return events_.size(); }
  std::uint64_t dropped() const { return dropped_; }
  std::size_t max_bytes() const { return max_bytes_; }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
  std::deque<std::pair<std::size_t, model::Event>> events_;  // (bytes, event)
};

}  // namespace pm::watch
