// pmtrace run against real processes: the real BPF programs, real syscalls.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "harness.h"

using namespace pmtest;

namespace {

int closed_loopback_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);  // nothing listens there now
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("run: an exec and its exit code", "[root][run]") {
  REQUIRE_ROOT();
  auto o = run_pmtrace({"run", "--json", "--", "/bin/sh", "-c", "exit 7"});
  INFO(o.err);
  CHECK(o.status == 1);  // a traced process failed
  auto execs = o.events("exec");
  REQUIRE(execs.size() == 1);
  CHECK(execs[0]["filename"] == "/bin/sh");
  CHECK(execs[0]["argv"] == json({"/bin/sh", "-c", "exit 7"}));
  unsigned pid = execs[0]["pid"];
  auto exits = o.events_of("exit", pid);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0]["exit_code"] == 7);
  const json* s = o.summary();
  REQUIRE(s);
  CHECK((*s)["lost"]["total"] == 0);
  CHECK((*s)["failures"].size() == 1);
}

TEST_CASE("run: a healthy command exits 0", "[root][run]") {
  REQUIRE_ROOT();
  auto o = run_pmtrace({"run", "--", "/bin/true"});
  CHECK(o.status == 0);
  CHECK(o.out.find("exec /bin/true") != std::string::npos);
  CHECK(o.out.find("0 lost") != std::string::npos);
}

TEST_CASE("run: a child forked before exec is traced from its first syscall", "[root][run]") {
  REQUIRE_ROOT();
  const std::string marker = "/nonexistent/pm-before-exec";
  auto o = run_pmtrace({"run", "--json", "--", prog("fork_open"), marker, "/bin/true"});
  INFO(o.err);
  REQUIRE(o.status == 0);
  auto forks = o.events("fork");
  REQUIRE(forks.size() == 1);
  unsigned child = forks[0]["child_pid"];
  bool open_seen = false;
  for (const auto& e : o.events_of("open_failed", child))
    if (e["path"] == marker) {
      open_seen = true;
      CHECK(e["errno"] == "ENOENT");
      CHECK(e["comm"] == "fork_open");  // before the exec
    }
  CHECK(open_seen);
  auto execs = o.events_of("exec", child);
  REQUIRE(execs.size() == 1);
  CHECK(execs[0]["filename"] == "/bin/true");
}

TEST_CASE("run: an open a non-root user is denied reports EACCES, the path and the uid", "[root][run]") {
  REQUIRE_ROOT();
  TempDir dir;
  std::string path = dir.path() + "/app.log";
  { std::ofstream(path) << "x"; }
  REQUIRE(chmod(path.c_str(), 0600) == 0);
  auto o = run_pmtrace({"run", "--json", "--", prog("deny_open"), "65534", path});
  INFO(o.err);
  bool seen = false;
  for (const auto& e : o.events("open_failed")) {
    if (e["path"] != path) continue;
    seen = true;
    CHECK(e["errno"] == "EACCES");
    CHECK(e["uid"] == 65534);
    CHECK(e["flags"] == "O_WRONLY|O_APPEND");
  }
  CHECK(seen);
}

TEST_CASE("run: a connect to a closed loopback port reports ECONNREFUSED", "[root][run][net]") {
  REQUIRE_ROOT();
  int port = closed_loopback_port();
  auto o = run_pmtrace({"run", "--json", "--", prog("net_probe"), "refused", std::to_string(port)});
  INFO(o.out << o.err);
  REQUIRE(o.status == 0);
  auto c = o.events("connect");
  REQUIRE(c.size() == 1);
  CHECK(c[0]["errno"] == "ECONNREFUSED");
  CHECK(c[0]["addr"]["address"] == "127.0.0.1");
  CHECK(c[0]["addr"]["port"] == port);
}

TEST_CASE("run: a connect to a listener with a full accept queue stalls over a second", "[root][run][net]") {
  REQUIRE_ROOT();
  auto o = run_pmtrace({"run", "--json", "--", prog("net_probe"), "stall"});
  INFO(o.out << o.err);
  REQUIRE(o.status == 0);
  std::uint64_t longest = 0;
  std::string err;
  for (const auto& c : o.events("connect")) {
    std::uint64_t d = c["duration_ns"];
    if (d > longest) {
      longest = d;
      err = c["errno"];
    }
  }
  CHECK(longest > 1000000000ull);
  CHECK(longest < 10000000000ull);
  CHECK(err == "EINPROGRESS");  // SO_SNDTIMEO ran out with the SYN unanswered
}

TEST_CASE("run: a bind to a taken port reports EADDRINUSE, and the holder's LISTEN", "[root][run][net]") {
  REQUIRE_ROOT();
  auto o = run_pmtrace({"run", "--json", "--", prog("net_probe"), "inuse"});
  INFO(o.out << o.err);
  REQUIRE(o.status == 1);  // the process exited 0, but a bind failed: a finding
  auto listens = o.events("listen");
  REQUIRE(listens.size() == 1);
  int port = listens[0]["addr"]["port"];
  CHECK(listens[0]["addr"]["address"] == "127.0.0.1");
  bool failed_bind = false;
  for (const auto& b : o.events("bind"))
    if (b["errno"] == "EADDRINUSE") {
      failed_bind = true;
      CHECK(b["addr"]["port"] == port);
    }
  CHECK(failed_bind);
  const json* s = o.summary();
  REQUIRE(s);
  REQUIRE((*s)["findings"].size() == 1);
  CHECK((*s)["findings"][0]["rule"] == "address-in-use");
  CHECK((*s)["findings"][0]["title"].get<std::string>().find("127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
}

TEST_CASE("run: text written to stderr is captured, start and end of long writes", "[root][run]") {
  REQUIRE_ROOT();
  // One long write, as Python writes a traceback: the error is on its last line.
  std::string script =
      "python3 -c \"import sys; sys.stderr.write('Traceback (most recent call last):\\n' + "
      "'  File x\\n' * 200 + 'ModuleNotFoundError: No module named pm_missing\\n')\"";
  auto o = run_pmtrace({"run", "--json", "--", "/bin/sh", "-c", "echo pm-stderr-marker >&2; " + script});
  INFO(o.err);
  bool marker = false, tail = false;
  for (const auto& w : o.events("write")) {
    std::string head = w["head"];
    // dash's `echo >&2` dup2()s stderr onto fd 1 and writes there.
    if (head.find("pm-stderr-marker") != std::string::npos) marker = true;
    if (w["fd"] != 2) continue;
    if (w.contains("tail") &&
        w["tail"].get<std::string>().find("No module named pm_missing") != std::string::npos) {
      tail = true;
      CHECK(head.rfind("Traceback", 0) == 0);
      CHECK(w["count"].get<unsigned>() > 1000);
    }
  }
  CHECK(marker);
  CHECK(tail);
}

TEST_CASE("run: secrets in the command line never reach the output", "[root][run]") {
  REQUIRE_ROOT();
  auto o = run_pmtrace({"run", "--", "/bin/sh", "-c",
                        "SECRET_KEY=pm-very-secret true; echo postgres://app:pm-db-pass@127.0.0.1/db >&2"});
  CHECK(o.out.find("pm-very-secret") == std::string::npos);
  CHECK(o.out.find("pm-db-pass") == std::string::npos);
  CHECK(o.out.find("SECRET_KEY=***") != std::string::npos);
}

TEST_CASE("run: events the ring buffer had no room for are counted, never silently dropped", "[root][run][loss]") {
  REQUIRE_ROOT();
  const int n = 20000;
  const std::string path = "/nonexistent/pm-loss-storm";
  // An 8 KiB ring holds about 20 open records: a storm overflows it.
  auto o = run_pmtrace({"run", "--json", "--ringbuf-size", "8K", "--", prog("open_fail"), path, std::to_string(n)});
  INFO(o.err);
  REQUIRE(o.status == 0);
  const json* s = o.summary();
  REQUIRE(s);
  std::uint64_t lost_opens = (*s)["lost"]["by_type"].value("open_failed", 0ull);
  std::uint64_t seen = 0;
  for (const auto& e : o.events("open_failed"))
    if (e["path"] == path) ++seen;
  CHECK(lost_opens > 0);
  CHECK(seen < static_cast<std::uint64_t>(n));
  // Every one of the n failed opens is either delivered or counted as lost
  // (the loader's own failed opens may add a few to the lost count).
  CHECK(seen + lost_opens >= static_cast<std::uint64_t>(n));
  CHECK(seen + lost_opens <= static_cast<std::uint64_t>(n) + 64);
  CHECK((*s)["lost"]["total"].get<std::uint64_t>() >= lost_opens);

  auto text = run_pmtrace({"run", "--ringbuf-size", "8K", "--", prog("open_fail"), path, std::to_string(n)});
  CHECK(text.out.find("lost because the ring buffer was full (") != std::string::npos);
  CHECK(text.out.find(" open_failed") != std::string::npos);
  CHECK(text.out.find("): increase --ringbuf-size") != std::string::npos);
}

TEST_CASE("run: a ring buffer size that is not a power of two is refused", "[root][run][errors]") {
  REQUIRE_ROOT();
  auto o = run_pmtrace({"run", "--ringbuf-size", "3M", "--", "/bin/true"});
  CHECK(o.status == 2);
  CHECK(o.err.find("--ringbuf-size must be a power of two") != std::string::npos);
}

TEST_CASE("run: an OOM kill under a memory limit names the victim and the kernel's SIGKILL", "[root][run][oom]") {
  REQUIRE_ROOT();
  // The memory controller is on the v1 hierarchy on hybrid machines, on v2
  // (memory.max) on unified ones.
  std::string v1 = "/sys/fs/cgroup/memory";
  std::string cg, limit_file;
  struct stat st{};
  if (stat((v1 + "/memory.limit_in_bytes").c_str(), &st) == 0) {
    cg = v1 + "/pmtrace-oom-" + std::to_string(getpid());
    limit_file = cg + "/memory.limit_in_bytes";
  } else {
    cg = cgroup2_root() + "/pmtrace-oom-" + std::to_string(getpid());
    limit_file = cg + "/memory.max";
  }
  REQUIRE((mkdir(cg.c_str(), 0755) == 0 || errno == EEXIST));
  { std::ofstream(limit_file) << (32 << 20); }
  auto o = run_pmtrace({"run", "--json", "--", prog("cg_exec"), cg, prog("eat_memory"), "512"});
  rmdir(cg.c_str());
  INFO(o.err);
  CHECK(o.status == 1);
  auto execs = o.events("exec");
  REQUIRE(!execs.empty());
  unsigned pid = execs.back()["pid"];
  auto ooms = o.events("oom_victim");
  REQUIRE(ooms.size() == 1);
  CHECK(ooms[0]["victim_pid"] == pid);
  CHECK(ooms[0]["victim_comm"] == "eat_memory");
  auto exits = o.events_of("exit", pid);
  REQUIRE(exits.size() == 1);
  CHECK(exits[0]["signal"] == "SIGKILL");
  bool kernel_kill = false;
  for (const auto& s : o.events("signal_generate"))
    if (s["target_pid"] == pid && s["signal"] == "SIGKILL" && s["from_kernel"] == true) kernel_kill = true;
  CHECK(kernel_kill);
}

TEST_CASE("version: pmtrace --version says the version, the git revision and what eBPF finds here", "[version]") {
  auto o = run_pmtrace({"--version"}, 20);
  INFO(o.out << o.err);
  CHECK(o.status == 0);
  CHECK(o.out.rfind("pmtrace ", 0) == 0);
  CHECK(o.out.find(" (git ") != std::string::npos);
  // Built from a git checkout, it names the revision (an exported tree says "unknown").
  if (::access((std::string(PM_SOURCE_DIR) + "/.git").c_str(), F_OK) == 0)
    CHECK(o.out.find("(git unknown)") == std::string::npos);
  CHECK(o.out.find("\nkernel: Linux ") != std::string::npos);
  CHECK(o.out.find("\nBTF: ") != std::string::npos);
  CHECK(o.out.find("\ntracefs: ") != std::string::npos);
  if (is_root()) CHECK(o.out.find("\nbpf(): ring buffer maps can be created") != std::string::npos);
  else CHECK(o.out.find("\nbpf(): not tried (pmtrace needs root") != std::string::npos);
}
