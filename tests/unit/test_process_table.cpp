// analysis/process_table.h: which traced processes live, and how each ended,
// from synthetic events.
#include <catch2/catch.hpp>

#include "synthetic.h"
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/process_table.h"

using namespace pm::model;
using pm::analysis::ProcessTable;
using Pids = std::vector<std::uint32_t>;

namespace {

using pmtest::event;

Event fork_of(std::uint32_t parent, std::uint32_t child, std::string comm = "gunicorn") {
  return event(EventType::fork, parent, Fork{child}, 0, std::move(comm));
}

Event exit_of(std::uint32_t pid, int raw, std::uint64_t ts = 0, std::string comm = "gunicorn") {
  Exit x;
  x.raw = raw;
  return event(EventType::exit, pid, x, ts, std::move(comm));
}

Event signal_from(std::uint32_t sender, int sig, std::uint32_t target) {
  SignalGenerate g;
  g.sig = sig;
  g.target_pid = target;
  return event(EventType::signal_generate, sender, g);
}

}  // namespace

TEST_CASE("ProcessTable: seed and fork make processes live", "[process_table]") {
  ProcessTable t;
  CHECK(t.live_count() == 0);
  t.seed(100, "gunicorn");
  CHECK(t.live(100));
  CHECK(t.live_count() == 1);

  t.on_event(fork_of(100, 101));
  t.on_event(fork_of(100, 102));
  t.on_event(fork_of(101, 103));  // a grandchild
  CHECK(t.live(101));
  CHECK(t.live(102));
  CHECK(t.live(103));
  CHECK(t.live_count() == 4);
  CHECK(t.live_pids() == Pids{100, 101, 102, 103});
  CHECK(t.seen_count() == 4);
  CHECK(t.failures().empty());
}

TEST_CASE("ProcessTable: exec keeps a process live under the same pid", "[process_table]") {
  ProcessTable t;
  t.seed(200, "sh");
  Exec x;
  x.filename = "/srv/venv/bin/gunicorn";
  t.on_event(event(EventType::exec, 200, x, 10, "gunicorn"));
  CHECK(t.live(200));
  CHECK(t.live_count() == 1);
  CHECK(t.seen_count() == 1);
  // an exec from a process not seen before (adopted) brings it in
  t.on_event(event(EventType::exec, 201, x, 11));
  CHECK(t.live(201));
  CHECK(t.live_count() == 2);
}

TEST_CASE("ProcessTable: exits remove, only non-zero or signalled exits are failures", "[process_table]") {
  ProcessTable t;
  t.seed(10);
  t.on_event(fork_of(10, 11));
  t.on_event(fork_of(10, 12));
  t.on_event(fork_of(10, 13));

  t.on_event(exit_of(11, 0, 1000));
  CHECK_FALSE(t.live(11));
  CHECK(t.failures().empty());

  t.on_event(exit_of(12, 3 << 8, 2000, "worker"));
  REQUIRE(t.failures().size() == 1);
  CHECK(t.failures()[0].pid == 12);
  CHECK(t.failures()[0].comm == "worker");
  CHECK(t.failures()[0].exit.code() == 3);
  CHECK(t.failures()[0].ts_ns == 2000);

  t.on_event(exit_of(13, 9, 3000));  // SIGKILL
  REQUIRE(t.failures().size() == 2);
  CHECK(t.failures()[1].pid == 13);
  CHECK(t.failures()[1].exit.signal() == 9);
  CHECK(t.failures()[1].exit.code() == 0);

  CHECK(t.live_pids() == Pids{10});
  t.on_event(exit_of(10, 0, 4000));
  CHECK(t.live_count() == 0);
  CHECK(t.failures().size() == 2);
  CHECK(t.seen_count() == 4);
  CHECK(t.last_event_ns() == 4000);
}

TEST_CASE("ProcessTable: events after an exit do not revive the process", "[process_table]") {
  ProcessTable t;
  t.seed(30);
  t.on_event(exit_of(30, 0));
  REQUIRE_FALSE(t.live(30));

  t.on_event(signal_from(30, 17, 1));  // the SIGCHLD the kernel sends for it
  CHECK_FALSE(t.live(30));
  t.on_event(event(EventType::tcp_connect, 30, TcpConnect{}));  // its socket closing
  CHECK_FALSE(t.live(30));
  t.on_event(event(EventType::write, 30, Write{}));  // a late record from before the exit
  CHECK_FALSE(t.live(30));
  CHECK(t.live_count() == 0);
}

TEST_CASE("ProcessTable: a signal sender that was never tracked is not added", "[process_table]") {
  ProcessTable t;
  t.seed(40);
  t.on_event(signal_from(1, 15, 40));  // systemd stops the service
  CHECK_FALSE(t.live(1));
  CHECK(t.live_count() == 1);
  // other events from an unseen process adopt it
  t.on_event(event(EventType::open_failed, 41, OpenFailed{}));
  CHECK(t.live(41));
}

TEST_CASE("ProcessTable: listen sets listening()", "[process_table]") {
  ProcessTable t;
  t.seed(50);
  t.on_event(event(EventType::bind, 50, Bind{}));
  CHECK_FALSE(t.listening());
  t.on_event(event(EventType::listen, 50, Listen{}));
  CHECK(t.listening());
  t.on_event(exit_of(50, 0));
  CHECK(t.listening());  // it did listen, once
}

TEST_CASE("ProcessTable: forget() drops a process for good, with no failure", "[process_table]") {
  ProcessTable t;
  t.seed(60);
  t.seed(61);
  t.forget(60);
  CHECK_FALSE(t.live(60));
  CHECK(t.live(61));
  CHECK(t.failures().empty());
  t.on_event(event(EventType::open_failed, 60, OpenFailed{}));
  CHECK_FALSE(t.live(60));  // a late event does not bring it back
  // a new fork that reuses the pid does
  t.on_event(fork_of(61, 60));
  CHECK(t.live(60));
}
