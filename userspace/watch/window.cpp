#include "watch/window.h"

#include "model/event_fields.h"

namespace pm::watch {

std::size_t approx_bytes(const model::Event& e) {
  return sizeof(model::Event) + e.hdr.comm.size() + model::string_bytes(e.body);
}

void Window::push(model::Event e) {
  std::size_t n = approx_bytes(e);
  if (n > max_bytes_) {  // larger than the whole window: never kept, the rest stays
    ++dropped_;
    return;
  }
  while (!events_.empty() && bytes_ + n > max_bytes_) {
    bytes_ -= events_.front().first;
    events_.pop_front();
    ++dropped_;
  }
  bytes_ += n;
  events_.emplace_back(n, std::move(e));
}

std::vector<model::Event> Window::take_until(std::uint64_t ts_ns) {
  std::vector<model::Event> out;
  // Events arrive nearly in time order (per-CPU ring ordering): take every
  // event up to ts_ns, wherever it sits, and keep the later ones in order.
  std::deque<std::pair<std::size_t, model::Event>> rest;
  for (auto& [n, e] : events_) {
    if (e.hdr.ts_ns <= ts_ns) {
      bytes_ -= n;
      out.push_back(std::move(e));
    } else {
      rest.emplace_back(n, std::move(e));
    }
  }
  events_ = std::move(rest);
  return out;
}

}  // namespace pm::watch
