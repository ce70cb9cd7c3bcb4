// Decoding ring-buffer records built byte by byte from bpf/pmtrace.h.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "model/decode.h"
#include "pmtrace.h"

using namespace pm::model;

namespace {

template <typename T>
T record(__u16 type) {
  T r;
  std::memset(&r, 0, sizeof r);
  r.hdr.type = type;
  r.hdr.size = sizeof r;
  r.hdr.ts_ns = 123456789;
  r.hdr.tgid = 42;
  r.hdr.tid = 43;
  r.hdr.ppid = 1;
  r.hdr.uid = 33;
  r.hdr.gid = 34;
  r.hdr.cgroup_id = 777;
  std::strcpy(r.hdr.comm, "gunicorn");
  return r;
}

template <typename T>
DecodeResult decode(const T& r) {
  return decode_record(&r, sizeof r);
}

}  // namespace

TEST_CASE("decode: the common header", "[decode]") {
  auto r = record<pm_ev_fork>(PM_EV_FORK);
  r.hdr.flags = PM_F_ADOPTED;
  r.child_tgid = 99;
  auto d = decode(r);
  REQUIRE(d.error == DecodeError::none);
  CHECK(d.event.hdr.type == EventType::fork);
  CHECK(d.event.hdr.ts_ns == 123456789);
  CHECK(d.event.hdr.pid == 42);
  CHECK(d.event.hdr.tid == 43);
  CHECK(d.event.hdr.uid == 33);
  CHECK(d.event.hdr.gid == 34);
  CHECK(d.event.hdr.cgroup_id == 777);
  CHECK(d.event.hdr.comm == "gunicorn");
  CHECK(d.event.hdr.adopted);
  CHECK_FALSE(d.event.hdr.truncated);
  CHECK(d.event.as<Fork>()->child_pid == 99);
  CHECK(consistent(d.event));
}

TEST_CASE("decode: exec argv, with a last argument cut by the buffer", "[decode]") {
  auto r = record<pm_ev_exec>(PM_EV_EXEC);
  std::strcpy(r.filename, "/usr/bin/gunicorn");
  std::strcpy(r.interp, "/usr/bin/python3");
  const char args[] = "gunicorn\0-b\0" "127.0.0.1:8000\0app:ap";  // no final NUL
  std::memcpy(r.args, args, sizeof args - 1);
  r.args_len = sizeof args - 1;
  auto d = decode(r);
  REQUIRE(d.error == DecodeError::none);
  const auto* e = d.event.as<Exec>();
  REQUIRE(e);
  CHECK(e->filename == "/usr/bin/gunicorn");
  CHECK(e->interp == "/usr/bin/python3");
  CHECK(e->argv == std::vector<std::string>{"gunicorn", "-b", "127.0.0.1:8000", "app:ap"});
}

TEST_CASE("decode: an args_len larger than the buffer is clamped", "[decode]") {
  auto r = record<pm_ev_exec>(PM_EV_EXEC);
  std::memset(r.args, 'a', sizeof r.args);
  r.args_len = 100000;
  auto d = decode(r);
  REQUIRE(d.error == DecodeError::none);
  REQUIRE(d.event.as<Exec>()->argv.size() == 1);
  CHECK(d.event.as<Exec>()->argv[0].size() == sizeof r.args);
}

TEST_CASE("decode: exit with a code, and killed by a signal with a core", "[decode]") {
  auto r = record<pm_ev_exit>(PM_EV_EXIT);
  r.exit_code = 3 << 8;
  auto d = decode(r);
  const auto* x = d.event.as<Exit>();
  REQUIRE(x);
  CHECK(x->code() == 3);
  CHECK(x->signal() == 0);
  CHECK(x->failed());
  r.exit_code = 6 | 0x80;
  auto killed = decode(r);
  x = killed.event.as<Exit>();
  CHECK(x->signal() == 6);
  CHECK(x->core_dumped());
  r.exit_code = 0;
  CHECK_FALSE(decode(r).event.as<Exit>()->failed());
}

TEST_CASE("decode: signals", "[decode]") {
  auto g = record<pm_ev_signal_generate>(PM_EV_SIGNAL_GENERATE);
  g.sig = 15;
  g.code = 0;
  g.target_tgid = 500;
  g.target_tid = 501;
  std::strcpy(g.target_comm, "worker");
  g.from_kernel = 0;
  g.group = 1;
  auto d = decode(g);
  const auto* s = d.event.as<SignalGenerate>();
  REQUIRE(s);
  CHECK(s->sig == 15);
  CHECK(s->target_pid == 500);
  CHECK(s->target_tid == 501);
  CHECK(s->target_comm == "worker");
  CHECK_FALSE(s->from_kernel);
  CHECK(s->group);

  auto dl = record<pm_ev_signal_deliver>(PM_EV_SIGNAL_DELIVER);
  dl.sig = 6;
  dl.sender_pid = 41;
  dl.sa_handler = 1;
  auto dd = decode(dl);
  const auto* sd = dd.event.as<SignalDeliver>();
  REQUIRE(sd);
  CHECK(sd->sig == 6);
  CHECK(sd->sender_pid == 41);
  CHECK(sd->handler == 1);
}

TEST_CASE("decode: socket addresses", "[decode]") {
  SECTION("IPv4") {
    auto r = record<pm_ev_connect>(PM_EV_CONNECT);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5432);
    inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
    std::memcpy(r.addr.raw, &sin, sizeof sin);
    r.addr.family = AF_INET;
    r.addr.len = sizeof sin;
    r.err = 111;
    r.duration_ns = 2500000000ull;
    auto cd = decode(r);
    const auto* c = cd.event.as<Connect>();
    REQUIRE(c);
    CHECK(c->addr.address == "10.1.2.3");
    CHECK(c->addr.port == 5432);
    CHECK(c->addr.to_string() == "10.1.2.3:5432");
    CHECK(c->err == 111);
    CHECK(c->duration_ns == 2500000000ull);
  }
  SECTION("IPv6") {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(80);
    inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
    auto a = decode_sockaddr(AF_INET6, reinterpret_cast<const std::uint8_t*>(&sin6), sizeof sin6);
    CHECK(a.to_string() == "[::1]:80");
  }
  SECTION("unix path and abstract name") {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strcpy(sun.sun_path, "/var/run/postgresql/.s.PGSQL.5432");
    auto a = decode_sockaddr(AF_UNIX, reinterpret_cast<const std::uint8_t*>(&sun), sizeof sun);
    CHECK(a.path == "/var/run/postgresql/.s.PGSQL.5432");
    CHECK(a.to_string() == "unix:/var/run/postgresql/.s.PGSQL.5432");
    sockaddr_un abs{};
    abs.sun_family = AF_UNIX;
    std::memcpy(abs.sun_path, "\0gunicorn", 9);
    auto b = decode_sockaddr(AF_UNIX, reinterpret_cast<const std::uint8_t*>(&abs),
                             offsetof(sockaddr_un, sun_path) + 9);
    CHECK(b.path == "@gunicorn");
  }
  SECTION("a length too short for the family gives no address") {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    auto a = decode_sockaddr(AF_INET, reinterpret_cast<const std::uint8_t*>(&sin), 4);
    CHECK(a.address.empty());
  }
}

TEST_CASE("decode: a write keeps its head and its tail", "[decode]") {
  auto r = record<pm_ev_write>(PM_EV_WRITE);
  r.fd = 2;
  r.count = 4000;
  std::memcpy(r.data, "Traceback", 9);
  r.head_len = 9;
  std::memcpy(r.data + PM_WRITE_HEAD, "ImportError: x\n", 15);
  r.tail_len = 15;
  auto wd = decode(r);
  const auto* w = wd.event.as<Write>();
  REQUIRE(w);
  CHECK(w->head == "Traceback");
  CHECK(w->tail == "ImportError: x\n");
  CHECK(w->skipped() == 4000 - 24);
}

TEST_CASE("decode: open failure, bind, listen, tcp, oom, cgroup", "[decode]") {
  auto o = record<pm_ev_open_fail>(PM_EV_OPEN_FAIL);
  std::strcpy(o.path, "/var/log/app.log");
  o.err = 13;
  o.flags = 01 | 0100 | 02000;
  auto od = decode(o);
  const auto* of = od.event.as<OpenFailed>();
  REQUIRE(of);
  CHECK(of->path == "/var/log/app.log");
  CHECK(of->err == 13);
  CHECK(of->flags == (01 | 0100 | 02000));

  auto b = record<pm_ev_bind>(PM_EV_BIND);
  b.err = 98;
  CHECK(decode(b).event.as<Bind>()->err == 98);
  CHECK(decode(record<pm_ev_listen>(PM_EV_LISTEN)).event.as<Listen>());

  auto t = record<pm_ev_tcp_connect>(PM_EV_TCP_CONNECT);
  t.oldstate = 2;
  t.newstate = 7;
  auto td = decode(t);
  const auto* tc = td.event.as<TcpConnect>();
  REQUIRE(tc);
  CHECK_FALSE(tc->established());

  auto m = record<pm_ev_oom_victim>(PM_EV_OOM_VICTIM);
  m.victim_tgid = 77;
  std::strcpy(m.victim_comm, "gunicorn");
  CHECK(decode(m).event.as<OomVictim>()->victim_pid == 77);

  auto c = record<pm_ev_cgroup_adopt>(PM_EV_CGROUP_ADOPT);
  c.cgroup_id = 9;
  std::strcpy(c.path, "/system.slice/x.service");
  CHECK(decode(c).event.as<CgroupAdopt>()->path == "/system.slice/x.service");

  auto ef = record<pm_ev_exec_fail>(PM_EV_EXEC_FAIL);
  ef.err = 2;
  std::strcpy(ef.filename, "/srv/venv/bin/gunicorn");
  CHECK(decode(ef).event.as<ExecFailed>()->filename == "/srv/venv/bin/gunicorn");
}

TEST_CASE("decode: malformed and unknown records are refused, never read past", "[decode]") {
  auto r = record<pm_ev_fork>(PM_EV_FORK);
  CHECK(decode_record(&r, 10).error == DecodeError::too_short);
  CHECK(decode_record(&r, sizeof(pm_hdr) + 4).error == DecodeError::size_mismatch);  // hdr.size says 72
  r.hdr.size = sizeof(pm_hdr);
  CHECK(decode_record(&r, sizeof(pm_hdr)).error == DecodeError::size_mismatch);  // a fork needs 72
  auto u = record<pm_ev_fork>(99);
  CHECK(decode(u).error == DecodeError::unknown_type);
  auto z = record<pm_ev_fork>(PM_EV_INVALID);
  CHECK(decode(z).error == DecodeError::unknown_type);
}
