// watch/window.h: the per-service flight recorder, bounded in bytes.

#include <catch2/catch.hpp>

#include "watch/window.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "synthetic.h"

using pm::watch::approx_bytes;
using pm::watch::Window;
namespace model = pm::model;

namespace {

using model::EventType;

model::Event write_event(std::uint32_t pid, std::uint64_t ts, std::string text) {
  model::Write w;
  w.fd = 2;
  w.count = text.size();
  w.head = std::move(text);
  return pmtest::event(EventType::write, pid, w, ts);
}

model::Event fork_event(std::uint32_t pid, std::uint64_t ts, std::uint32_t child) {
  return pmtest::event(EventType::fork, pid, model::Fork{child}, ts);
}

std::size_t sum_bytes(const std::vector<model::Event>& es) {
  std::size_t n = 0;
  for (const auto& e : es) n += approx_bytes(e);
  return n;
}

std::vector<std::uint64_t> stamps(const std::vector<model::Event>& es) {
  std::vector<std::uint64_t> out;
  for (const auto& e : es) out.push_back(e.hdr.ts_ns);
  return out;
}

}  // namespace

TEST_CASE("window: a flood of equal events keeps exactly the newest that fit and counts every drop", "[watch]") {
  const auto probe = fork_event(500, 0, 501);
  const std::size_t one = approx_bytes(probe);
  REQUIRE(one >= sizeof(model::Event));
  // Room for 10 events and a half: the 11th must push the oldest out.
  Window w(10 * one + one / 2);
  const std::uint64_t kFlood = 100000;
  for (std::uint64_t i = 1; i <= kFlood; ++i) {
    w.push(fork_event(500, i, static_cast<std::uint32_t>(1000 + i)));
    if (w.bytes() > w.max_bytes()) FAIL("window holds " << w.bytes() << " bytes, bound " << w.max_bytes());
    if (i <= 10) REQUIRE(w.dropped() == 0);
  }
  CHECK(w.size() == 10);
  CHECK(w.bytes() == 10 * one);
  CHECK(w.dropped() == kFlood - 10);

  auto kept = w.take_until(~0ull);
  REQUIRE(kept.size() == 10);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    CHECK(kept[i].hdr.ts_ns == kFlood - 9 + i);  // the newest, oldest first
    CHECK(kept[i].as<model::Fork>()->child_pid == 1000 + kFlood - 9 + i);
  }
  CHECK(w.size() == 0);
  CHECK(w.bytes() == 0);
  CHECK(w.dropped() == kFlood - 10);  // taking is not dropping
}

TEST_CASE("window: a flood of events of mixed sizes keeps the longest newest run that fits", "[watch]") {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len(0, 900);
  const std::size_t max = 16 * 1024;
  Window w(max);
  std::vector<model::Event> pushed;
  for (int i = 0; i < 3000; ++i) {
    auto e = write_event(501, 1000 + i, std::string(static_cast<std::size_t>(len(rng)), 'x'));
    pushed.push_back(e);
    w.push(e);
    REQUIRE(w.bytes() <= max);
    REQUIRE(w.dropped() + w.size() == pushed.size());
  }
  const std::size_t before = w.bytes();
  auto kept = w.take_until(~0ull);
  REQUIRE(!kept.empty());
  CHECK(sum_bytes(kept) == before);  // the byte count is the sum of what is held
  // What is kept is a suffix of what was pushed (newest kept, order kept) ...
  const std::size_t first = pushed.size() - kept.size();
  for (std::size_t i = 0; i < kept.size(); ++i) REQUIRE(kept[i].hdr.ts_ns == pushed[first + i].hdr.ts_ns);
  // ... and the longest one: the last event dropped would not have fit with it.
  REQUIRE(first > 0);
  CHECK(sum_bytes(kept) + approx_bytes(pushed[first - 1]) > max);
}

TEST_CASE("window: an event larger than the whole window is dropped and counted", "[watch]") {
  const auto small = write_event(501, 10, "ok");
  const std::size_t cap = 4 * approx_bytes(small);
  Window w(cap);
  auto huge = write_event(501, 20, std::string(cap, 'T'));
  REQUIRE(approx_bytes(huge) > cap);
  w.push(huge);
  CHECK(w.size() == 0);
  CHECK(w.bytes() == 0);
  CHECK(w.dropped() == 1);
  // The window still works afterwards.
  w.push(small);
  CHECK(w.size() == 1);
  CHECK(w.bytes() == approx_bytes(small));
  CHECK(w.dropped() == 1);
}

// BUG: Window::push evicts the oldest events *before* it checks whether the
// new event can fit at all, so one oversized event wipes the whole flight
// recorder and is then dropped itself.
TEST_CASE("window: an oversized event does not wipe the events already held", "[watch]") {
  const auto small = write_event(501, 10, "ok");
  const std::size_t cap = 4 * approx_bytes(small);
  Window w(cap);
  w.push(write_event(501, 1, "a"));
  w.push(write_event(501, 2, "b"));
  w.push(write_event(501, 3, "c"));
  const std::size_t held = w.bytes();
  w.push(write_event(501, 4, std::string(cap, 'T')));  // cannot fit in any case
  CHECK(w.dropped() == 1);  // the oversized event only
  CHECK(w.size() == 3);
  CHECK(w.bytes() == held);
  CHECK(stamps(w.take_until(~0ull)) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("window: an event exactly the window's size fits alone", "[watch]") {
  auto e = write_event(501, 5, "exactly");
  Window w(approx_bytes(e));
  w.push(write_event(501, 1, "older"));
  w.push(e);
  CHECK(w.size() == 1);
  CHECK(w.bytes() == approx_bytes(e));
  CHECK(w.dropped() == 1);
  CHECK(stamps(w.take_until(~0ull)) == std::vector<std::uint64_t>{5});
}

TEST_CASE("window: take_until with out-of-order stamps takes every event up to the time", "[watch]") {
  // Per-CPU rings deliver nearly in order: 30 arrives before 25, 50 before 45.
  const std::vector<std::uint64_t> arrival = {10, 30, 25, 40, 50, 45, 60, 35, 70};
  Window w(1 << 20);
  std::size_t total = 0;
  for (auto ts : arrival) {
    auto e = write_event(501, ts, "line " + std::string(ts / 5, '.'));  // sizes differ
    total += approx_bytes(e);
    w.push(std::move(e));
  }
  REQUIRE(w.bytes() == total);

  auto taken = w.take_until(40);
  // Taken: the events stamped <= 40, wherever they sat, in arrival order.
  CHECK(stamps(taken) == std::vector<std::uint64_t>{10, 30, 25, 40, 35});
  // Kept: the later ones, in the order they arrived.
  CHECK(w.size() == 4);
  CHECK(w.bytes() == total - sum_bytes(taken));
  auto rest = w.take_until(~0ull);
  CHECK(stamps(rest) == std::vector<std::uint64_t>{50, 45, 60, 70});
  CHECK(sum_bytes(rest) == total - sum_bytes(taken));
  CHECK(w.bytes() == 0);
  CHECK(w.dropped() == 0);
}

TEST_CASE("window: take_until before every event takes nothing and changes nothing", "[watch]") {
  Window w(1 << 16);
  w.push(write_event(501, 100, "a"));
  w.push(write_event(501, 200, "bb"));
  const auto bytes = w.bytes();
  CHECK(w.take_until(99).empty());
  CHECK(w.size() == 2);
  CHECK(w.bytes() == bytes);
  // The bound is inclusive.
  auto one = w.take_until(100);
  REQUIRE(one.size() == 1);
  CHECK(one[0].hdr.ts_ns == 100);
  CHECK(w.bytes() == approx_bytes(write_event(501, 200, "bb")));
}

TEST_CASE("window: bytes freed by take_until make room again without drops", "[watch]") {
  const auto probe = fork_event(500, 0, 1);
  const std::size_t one = approx_bytes(probe);
  Window w(3 * one);
  w.push(fork_event(500, 1, 1));
  w.push(fork_event(500, 2, 2));
  w.push(fork_event(500, 3, 3));
  REQUIRE(w.dropped() == 0);
  CHECK(w.take_until(2).size() == 2);
  w.push(fork_event(500, 4, 4));
  w.push(fork_event(500, 5, 5));
  CHECK(w.dropped() == 0);  // room was made by taking, not by dropping
  CHECK(w.size() == 3);
  w.push(fork_event(500, 6, 6));
  CHECK(w.dropped() == 1);
  CHECK(stamps(w.take_until(~0ull)) == std::vector<std::uint64_t>{4, 5, 6});
}

TEST_CASE("window: approx_bytes counts the struct and grows with every string the event holds", "[watch]") {
  // Each case: a payload built twice, with a string field of length 0 and of
  // length k; the cost must grow by at least k (the bytes themselves).
  const std::size_t k = 3000;
  const std::string big(k, 'z');
  auto grows = [&](const char* what, model::EventType type, model::Payload small, model::Payload large) {
    auto a = pmtest::event(type, 7, std::move(small), 1);
    auto b = pmtest::event(type, 7, std::move(large), 1);
    REQUIRE(model::consistent(a));
    INFO(what);
    CHECK(approx_bytes(a) >= sizeof(model::Event));
    CHECK(approx_bytes(b) >= approx_bytes(a) + k);
  };
  {
    model::Exec s, l;
    l.filename = big;
    grows("exec filename", EventType::exec, s, l);
    model::Exec li;
    li.interp = big;
    grows("exec interp", EventType::exec, s, li);
    model::Exec la;
    la.argv = {big};
    grows("exec argv", EventType::exec, s, la);
  }
  {
    model::ExecFailed s, l;
    l.filename = big;
    grows("exec_failed filename", EventType::exec_failed, s, l);
  }
  {
    model::SignalGenerate s, l;
    l.target_comm = big;
    grows("signal target comm", EventType::signal_generate, s, l);
  }
  {
    model::OpenFailed s, l;
    l.path = big;
    grows("open_failed path", EventType::open_failed, s, l);
  }
  {
    model::Connect s, l, lu;
    l.addr.address = big;
    lu.addr.path = big;
    grows("connect address", EventType::connect, s, l);
    grows("connect unix path", EventType::connect, s, lu);
  }
  {
    model::TcpConnect s, l;
    l.peer.address = big;
    grows("tcp peer", EventType::tcp_connect, s, l);
  }
  {
    model::Bind s, l;
    l.addr.path = big;
    grows("bind path", EventType::bind, s, l);
  }
  {
    model::Listen s, l;
    l.addr.address = big;
    grows("listen address", EventType::listen, s, l);
  }
  {
    model::Write s, lh, lt;
    lh.head = big;
    lt.tail = big;
    grows("write head", EventType::write, s, lh);
    grows("write tail", EventType::write, s, lt);
  }
  {
    model::OomVictim s, l;
    l.victim_comm = big;
    grows("oom victim comm", EventType::oom_victim, s, l);
  }
  {
    model::CgroupAdopt s, l;
    l.path = big;
    grows("cgroup path", EventType::cgroup_adopt, s, l);
  }
  {
    model::ChdirFailed s, l;
    l.path = big;
    grows("chdir path", EventType::chdir_failed, s, l);
  }
  {
    model::Milestone s, l;
    s.kind = l.kind = model::MilestoneKind::accept;
    l.peer.address = big;
    grows("accept peer", EventType::milestone, s, l);
  }
  // The header's comm counts too.
  auto a = pmtest::event(EventType::fork, 7, model::Fork{8}, 1, "");
  auto b = pmtest::event(EventType::fork, 7, model::Fork{8}, 1, big);
  CHECK(approx_bytes(b) >= approx_bytes(a) + k);
}

TEST_CASE("window: approx_bytes grows with the number of argv entries, empty ones included", "[watch]") {
  model::Exec few, many;
  few.argv = {"gunicorn"};
  many.argv = {"gunicorn"};
  for (int i = 0; i < 1000; ++i) many.argv.push_back("");
  auto a = pmtest::event(EventType::exec, 7, few, 1);
  auto b = pmtest::event(EventType::exec, 7, many, 1);
  // Each argument is a std::string object of its own, however short.
  CHECK(approx_bytes(b) >= approx_bytes(a) + 1000 * sizeof(std::string));
}

TEST_CASE("window: a flood of large writes stays within the bound", "[watch]") {
  // What a crash loop's output looks like: 512-byte writes (head and tail).
  Window w(64 * 1024);
  std::uint64_t pushed = 0;
  for (int i = 0; i < 20000; ++i) {
    model::Write wr;
    wr.fd = 2;
    wr.count = 100000;
    wr.head = std::string(256, 'h');
    wr.tail = std::string(256, 't');
    w.push(pmtest::event(EventType::write, 501, wr, 1000 + i));
    ++pushed;
    REQUIRE(w.bytes() <= 64 * 1024);
  }
  CHECK(w.size() > 0);
  CHECK(w.size() < 200);  // at ~700 bytes each, ~90 fit
  CHECK(w.dropped() + w.size() == pushed);
  auto kept = w.take_until(~0ull);
  CHECK(kept.back().hdr.ts_ns == 1000 + 19999);  // the newest is there
}
