#include "watch/window.h"

namespace pm::watch {
namespace {

std::size_t strings(const model::SockAddr& a) { return a.address.size() + a.path.size(); }
std::size_t strings(const model::Exec& p) {
  std::size_t n = p.filename.size() + p.interp.size();
  for (const auto& a : p.argv) n += a.size() + sizeof(std::string);
  return n;
}
std::size_t strings(const model::ExecFailed& p) { return p.filename.size(); }
std::size_t strings(const model::SignalGenerate& p) { return p.target_comm.size(); }
std::size_t strings(const model::OpenFailed& p) { return p.path.size(); }
std::size_t strings(const model::Connect& p) { return strings(p.addr); }
std::size_t strings(const model::TcpConnect& p) { return strings(p.peer); }
std::size_t strings(const model::Bind& p) { return strings(p.addr); }
std::size_t strings(const model::Listen& p) { return strings(p.addr); }
std::size_t strings(const model::Write& p) { return p.head.size() + p.tail.size(); }
std::size_t strings(const model::OomVictim& p) { return p.victim_comm.size(); }
std::size_t strings(const model::CgroupAdopt& p) { return p.path.size(); }
std::size_t strings(const model::ChdirFailed& p) { return p.path.size(); }
std::size_t strings(const model::Milestone& p) { return strings(p.peer); }
template <typename T>
std::size_t strings(const T&) {
  return 0;
}

}  // namespace

std::size_t approx_bytes(const model::Event& e) {
  return sizeof(model::Event) + e.hdr.comm.size() + std::visit([](const auto& p) { return strings(p); }, e.body);
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
