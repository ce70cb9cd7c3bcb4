// model/decode.h: ring-buffer records built byte by byte from the wire structs
// in bpf/pmtrace.h, decoded into model::Event, for every event type.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "model/decode.h"
#include "pmtrace.h"

// Signal numbers are spelled out: <signal.h> defines sa_handler as a macro,
// which breaks pm_ev_signal_deliver.handler (see the report).
namespace {
constexpr int kSigabrt = 6, kSigkill = 9, kSigsegv = 11, kSigterm = 15;
}  // namespace

using namespace pm::model;

namespace {

// A zeroed wire record with a filled common header; hdr.size is the struct's.
template <typename T>
T wire(__u16 type) {
  T r;
  std::memset(&r, 0, sizeof r);
  r.hdr.type = type;
  r.hdr.size = sizeof r;
  r.hdr.ts_ns = 5000000000ull;
  r.hdr.tgid = 4242;
  r.hdr.tid = 4243;
  r.hdr.ppid = 4200;
  r.hdr.uid = 33;
  r.hdr.gid = 34;
  r.hdr.cgroup_id = 0x1234567890ull;
  std::memcpy(r.hdr.comm, "gunicorn", 8);
  return r;
}

// The record's bytes at an odd offset in a byte buffer, as a ring buffer may
// hand them over: the decoder must copy, not cast.
template <typename T>
DecodeResult decode_unaligned(const T& r) {
  std::vector<unsigned char> buf(sizeof r + 1);
  std::memcpy(buf.data() + 1, &r, sizeof r);
  return decode_record(buf.data() + 1, sizeof r);
}

// Decodes, requires success and a payload of type P, and returns the event.
template <typename P, typename T>
Event decoded(const T& r) {
  DecodeResult d = decode_unaligned(r);
  REQUIRE(d.error == DecodeError::none);
  REQUIRE(d.event.as<P>() != nullptr);
  CHECK(consistent(d.event));
  return d.event;
}

void set_inet(pm_sockaddr& a, const char* ip, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  REQUIRE(inet_pton(AF_INET, ip, &sin.sin_addr) == 1);
  std::memcpy(a.raw, &sin, sizeof sin);
  a.family = AF_INET;
  a.len = sizeof sin;
}

void set_inet6(pm_sockaddr& a, const char* ip, std::uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1);
  std::memcpy(a.raw, &sin6, sizeof sin6);
  a.family = AF_INET6;
  a.len = sizeof sin6;
}

// A pathname socket (abstract = false) or an abstract one: sun_path[0] == 0
// and the name in the bytes after it, with no terminating NUL.
void set_unix(pm_sockaddr& a, const std::string& name, bool abstract) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::size_t off = abstract ? 1 : 0;
  std::memcpy(sun.sun_path + off, name.data(), name.size());
  std::memcpy(a.raw, &sun, sizeof sun);
  a.family = AF_UNIX;
  a.len = static_cast<__u16>(offsetof(sockaddr_un, sun_path) + off + name.size() + (abstract ? 0 : 1));
}

}  // namespace

TEST_CASE("decode_record: every header field and both flags", "[decode]") {
  auto r = wire<pm_ev_fork>(PM_EV_FORK);
  r.child_tgid = 4300;
  SECTION("no flags") {
    Event e = decoded<Fork>(r);
    CHECK(e.hdr.type == EventType::fork);
    CHECK(e.hdr.ts_ns == 5000000000ull);
    CHECK(e.hdr.pid == 4242);  // the model's pid is the kernel's tgid
    CHECK(e.hdr.tid == 4243);
    CHECK(e.hdr.ppid == 4200);
    CHECK(e.hdr.uid == 33);
    CHECK(e.hdr.gid == 34);
    CHECK(e.hdr.cgroup_id == 0x1234567890ull);
    CHECK(e.hdr.comm == "gunicorn");
    CHECK_FALSE(e.hdr.adopted);
    CHECK_FALSE(e.hdr.truncated);
    CHECK(e.as<Fork>()->child_pid == 4300);
  }
  SECTION("adopted") {
    r.hdr.flags = PM_F_ADOPTED;
    Event e = decoded<Fork>(r);
    CHECK(e.hdr.adopted);
    CHECK_FALSE(e.hdr.truncated);
  }
  SECTION("truncated") {
    r.hdr.flags = PM_F_TRUNCATED;
    Event e = decoded<Fork>(r);
    CHECK_FALSE(e.hdr.adopted);
    CHECK(e.hdr.truncated);
  }
  SECTION("a comm of 16 bytes with no NUL stays within the array") {
    std::memcpy(r.hdr.comm, "abcdefghijklmnop", 16);
    CHECK(decoded<Fork>(r).hdr.comm == "abcdefghijklmnop");
  }
}

TEST_CASE("decode_record: exec splits NUL-separated arguments", "[decode]") {
  auto r = wire<pm_ev_exec>(PM_EV_EXEC);
  r.old_tid = 4250;
  std::strcpy(r.filename, "/srv/app/manage.py");
  std::strcpy(r.interp, "/srv/venv/bin/python3");

  SECTION("complete arguments, an empty one among them") {
    const char args[] = "python3\0manage.py\0\0runserver\0";  // sizeof counts the literal's own NUL
    std::memcpy(r.args, args, sizeof args - 1);
    r.args_len = sizeof args - 1;  // ends with the NUL after "runserver"
    Event e = decoded<Exec>(r);
    const auto* x = e.as<Exec>();
    CHECK(x->filename == "/srv/app/manage.py");
    CHECK(x->interp == "/srv/venv/bin/python3");
    CHECK(x->old_tid == 4250);
    CHECK(x->argv == std::vector<std::string>{"python3", "manage.py", "", "runserver"});
  }
  SECTION("the last argument cut by the buffer, without its NUL") {
    const char args[] = "gunicorn\0--bind\0" "0.0.0.0:8000\0--work";
    std::memcpy(r.args, args, sizeof args - 1);
    r.args_len = sizeof args - 1;
    r.hdr.flags = PM_F_TRUNCATED;
    Event e = decoded<Exec>(r);
    CHECK(e.as<Exec>()->argv == std::vector<std::string>{"gunicorn", "--bind", "0.0.0.0:8000", "--work"});
    CHECK(e.hdr.truncated);
  }
  SECTION("args_len bounds what is read, not the NULs after it") {
    std::memcpy(r.args, "a\0b\0c\0", 6);
    r.args_len = 4;  // "a\0b\0": c is not part of the record
    CHECK(decoded<Exec>(r).as<Exec>()->argv == std::vector<std::string>{"a", "b"});
  }
  SECTION("no arguments") {
    r.args_len = 0;
    CHECK(decoded<Exec>(r).as<Exec>()->argv.empty());
  }
  SECTION("an args_len past the array is clamped to it") {
    std::memset(r.args, 'x', sizeof r.args);
    r.args_len = 0xffffffffu;
    auto argv = decoded<Exec>(r).as<Exec>()->argv;
    REQUIRE(argv.size() == 1);
    CHECK(argv[0] == std::string(PM_ARGS_LEN, 'x'));
  }
  SECTION("no interpreter") {
    r.interp[0] = '\0';
    CHECK(decoded<Exec>(r).as<Exec>()->interp.empty());
  }
}

TEST_CASE("decode_record: exec_fail", "[decode]") {
  auto r = wire<pm_ev_exec_fail>(PM_EV_EXEC_FAIL);
  r.err = 13;
  std::strcpy(r.filename, "/srv/venv/bin/gunicorn");
  Event e = decoded<ExecFailed>(r);
  CHECK(e.hdr.type == EventType::exec_failed);
  CHECK(e.as<ExecFailed>()->err == 13);
  CHECK(e.as<ExecFailed>()->filename == "/srv/venv/bin/gunicorn");
}

TEST_CASE("decode_record: exit with a code, with a signal, with a core", "[decode]") {
  auto r = wire<pm_ev_exit>(PM_EV_EXIT);
  r.start_ns = 4000000000ull;

  SECTION("exit(3)") {
    r.exit_code = 3 << 8;
    Event e = decoded<Exit>(r);
    const auto* x = e.as<Exit>();
    CHECK(x->raw == 0x300);
    CHECK(x->code() == 3);
    CHECK(x->signal() == 0);
    CHECK_FALSE(x->core_dumped());
    CHECK(x->failed());
    CHECK(x->start_ns == 4000000000ull);
  }
  SECTION("exit(0) is not a failure") {
    r.exit_code = 0;
    Event e = decoded<Exit>(r);
    CHECK(e.as<Exit>()->code() == 0);
    CHECK_FALSE(e.as<Exit>()->failed());
  }
  SECTION("killed by SIGKILL") {
    r.exit_code = kSigkill;
    Event e = decoded<Exit>(r);
    CHECK(e.as<Exit>()->signal() == kSigkill);
    CHECK(e.as<Exit>()->code() == 0);
    CHECK_FALSE(e.as<Exit>()->core_dumped());
    CHECK(e.as<Exit>()->failed());
  }
  SECTION("SIGSEGV with the core bit (0x80)") {
    r.exit_code = kSigsegv | 0x80;
    Event e = decoded<Exit>(r);
    CHECK(e.as<Exit>()->signal() == kSigsegv);
    CHECK(e.as<Exit>()->core_dumped());
    CHECK(e.as<Exit>()->failed());
  }
}

TEST_CASE("decode_record: signal_generate and signal_deliver", "[decode]") {
  auto g = wire<pm_ev_signal_generate>(PM_EV_SIGNAL_GENERATE);
  g.sig = kSigterm;
  g.code = -6;  // SI_TKILL
  g.err = 5;
  g.result = 2;
  g.target_tgid = 500;
  g.target_tid = 501;
  g.group = 1;
  g.from_kernel = 0;
  g.sender_pid = 4242;
  std::strcpy(g.target_comm, "worker-3");
  Event ge = decoded<SignalGenerate>(g);
  const auto* s = ge.as<SignalGenerate>();
  CHECK(ge.hdr.type == EventType::signal_generate);
  CHECK(s->sig == kSigterm);
  CHECK(s->code == -6);
  CHECK(s->err == 5);
  CHECK(s->result == 2);
  CHECK(s->target_pid == 500);
  CHECK(s->target_tid == 501);
  CHECK(s->group);
  CHECK_FALSE(s->from_kernel);
  CHECK(s->sender_pid == 4242);
  CHECK(s->target_comm == "worker-3");

  g.group = 0;
  g.from_kernel = 1;
  Event ke = decoded<SignalGenerate>(g);
  CHECK_FALSE(ke.as<SignalGenerate>()->group);
  CHECK(ke.as<SignalGenerate>()->from_kernel);

  auto d = wire<pm_ev_signal_deliver>(PM_EV_SIGNAL_DELIVER);
  d.sig = kSigabrt;
  d.code = 0;
  d.err = 0;
  d.sender_pid = 77;
  d.sender_uid = 1000;
  d.handler = 0x55aa00ull;
  Event de = decoded<SignalDeliver>(d);
  const auto* sd = de.as<SignalDeliver>();
  CHECK(de.hdr.type == EventType::signal_deliver);
  CHECK(sd->sig == kSigabrt);
  CHECK(sd->sender_pid == 77);
  CHECK(sd->sender_uid == 1000);
  CHECK(sd->handler == 0x55aa00ull);
}

TEST_CASE("decode_record: open_fail", "[decode]") {
  auto r = wire<pm_ev_open_fail>(PM_EV_OPEN_FAIL);
  r.dfd = -100;  // AT_FDCWD
  r.err = 13;
  r.flags = 01 | 0100 | 02000;
  r.mode = 0644;
  r.openat2 = 1;
  std::strcpy(r.path, "/var/log/gunicorn/error.log");
  Event e = decoded<OpenFailed>(r);
  const auto* o = e.as<OpenFailed>();
  CHECK(o->dfd == -100);
  CHECK(o->err == 13);
  CHECK(o->flags == 02101u);
  CHECK(o->mode == 0644u);
  CHECK(o->openat2);
  CHECK(o->path == "/var/log/gunicorn/error.log");

  SECTION("a path filling all 256 bytes, with no NUL") {
    std::memset(r.path, 'p', sizeof r.path);
    CHECK(decoded<OpenFailed>(r).as<OpenFailed>()->path == std::string(PM_PATH_LEN, 'p'));
  }
}

TEST_CASE("decode_record: connect to IPv4, IPv6, unix and abstract sockets", "[decode]") {
  auto r = wire<pm_ev_connect>(PM_EV_CONNECT);
  r.fd = 7;
  r.duration_ns = 1500000;

  SECTION("AF_INET, refused") {
    r.err = 111;
    set_inet(r.addr, "10.1.2.3", 5432);
    Event e = decoded<Connect>(r);
    const auto* c = e.as<Connect>();
    CHECK(c->fd == 7);
    CHECK(c->err == 111);
    CHECK(c->duration_ns == 1500000);
    CHECK(c->addr.family == AF_INET);
    CHECK(c->addr.address == "10.1.2.3");
    CHECK(c->addr.port == 5432);  // network byte order on the wire, host order here
    CHECK(c->addr.path.empty());
    CHECK(c->addr.to_string() == "10.1.2.3:5432");
  }
  SECTION("AF_INET6, in progress") {
    r.err = 115;
    set_inet6(r.addr, "2001:db8::5", 443);
    Event e = decoded<Connect>(r);
    const auto* c = e.as<Connect>();
    CHECK(c->err == 115);
    CHECK(c->addr.family == AF_INET6);
    CHECK(c->addr.address == "2001:db8::5");
    CHECK(c->addr.port == 443);
    CHECK(c->addr.to_string() == "[2001:db8::5]:443");
  }
  SECTION("AF_UNIX pathname socket") {
    set_unix(r.addr, "/run/postgresql/.s.PGSQL.5432", false);
    Event e = decoded<Connect>(r);
    const auto* c = e.as<Connect>();
    CHECK(c->addr.family == AF_UNIX);
    CHECK(c->addr.address.empty());
    CHECK(c->addr.path == "/run/postgresql/.s.PGSQL.5432");
    CHECK(c->addr.to_string() == "unix:/run/postgresql/.s.PGSQL.5432");
  }
  SECTION("AF_UNIX abstract name is shown with '@'") {
    set_unix(r.addr, "gunicorn.ctl", true);
    Event e = decoded<Connect>(r);
    CHECK(e.as<Connect>()->addr.path == "@gunicorn.ctl");
    CHECK(e.as<Connect>()->addr.to_string() == "unix:@gunicorn.ctl");
  }
  SECTION("AF_UNIX unnamed (only the family)") {
    set_unix(r.addr, "", false);
    r.addr.len = offsetof(sockaddr_un, sun_path);
    CHECK(decoded<Connect>(r).as<Connect>()->addr.to_string() == "unix:(unnamed)");
  }
  SECTION("a length too short for sockaddr_in gives no address") {
    set_inet(r.addr, "10.1.2.3", 5432);
    r.addr.len = 4;
    Event e = decoded<Connect>(r);
    CHECK(e.as<Connect>()->addr.address.empty());
    CHECK(e.as<Connect>()->addr.port == 0);
  }
  SECTION("a length past the raw array is clamped, not read past") {
    set_unix(r.addr, "/run/app.sock", false);
    r.addr.len = 0xffff;
    CHECK(decoded<Connect>(r).as<Connect>()->addr.path == "/run/app.sock");
  }
  SECTION("no address at all") {
    CHECK(decoded<Connect>(r).as<Connect>()->addr.to_string() == "(no address)");
  }
}

TEST_CASE("decode_record: tcp_connect, bind, listen", "[decode]") {
  auto t = wire<pm_ev_tcp_connect>(PM_EV_TCP_CONNECT);
  t.oldstate = 2;  // SYN_SENT
  t.newstate = 1;  // ESTABLISHED
  t.duration_ns = 42000;
  set_inet(t.peer, "192.0.2.10", 6379);
  Event te = decoded<TcpConnect>(t);
  const auto* tc = te.as<TcpConnect>();
  CHECK(tc->old_state == 2);
  CHECK(tc->new_state == 1);
  CHECK(tc->established());
  CHECK(tc->duration_ns == 42000);
  CHECK(tc->peer.to_string() == "192.0.2.10:6379");
  t.newstate = 7;  // CLOSE: refused or timed out
  CHECK_FALSE(decoded<TcpConnect>(t).as<TcpConnect>()->established());

  auto b = wire<pm_ev_bind>(PM_EV_BIND);
  b.fd = 5;
  b.err = 98;
  set_inet(b.addr, "0.0.0.0", 8000);
  Event be = decoded<Bind>(b);
  CHECK(be.as<Bind>()->fd == 5);
  CHECK(be.as<Bind>()->err == 98);
  CHECK(be.as<Bind>()->addr.to_string() == "0.0.0.0:8000");

  auto l = wire<pm_ev_listen>(PM_EV_LISTEN);
  set_inet6(l.addr, "::", 8443);
  Event le = decoded<Listen>(l);
  CHECK(le.hdr.type == EventType::listen);
  CHECK(le.as<Listen>()->addr.to_string() == "[::]:8443");
}

TEST_CASE("decode_record: a write keeps its head and its tail apart", "[decode]") {
  auto r = wire<pm_ev_write>(PM_EV_WRITE);
  r.fd = 2;
  const std::string head = "Traceback (most recent call last):\n";
  const std::string tail = "ModuleNotFoundError: No module named 'flask'\n";
  std::memcpy(r.data, head.data(), head.size());
  r.head_len = head.size();
  std::memcpy(r.data + PM_WRITE_HEAD, tail.data(), tail.size());
  r.tail_len = tail.size();
  r.count = 5000;

  SECTION("both parts, and what was skipped between them") {
    Event e = decoded<Write>(r);
    const auto* w = e.as<Write>();
    CHECK(w->fd == 2);
    CHECK(w->count == 5000);
    CHECK(w->head == head);
    CHECK(w->tail == tail);
    CHECK(w->skipped() == 5000 - head.size() - tail.size());
  }
  SECTION("a short write has only a head") {
    r.tail_len = 0;
    r.count = head.size();
    Event e = decoded<Write>(r);
    CHECK(e.as<Write>()->tail.empty());
    CHECK(e.as<Write>()->skipped() == 0);
  }
  SECTION("bytes after head_len are not part of the head") {
    r.head_len = 9;
    CHECK(decoded<Write>(r).as<Write>()->head == "Traceback");
  }
  SECTION("lengths past their halves are clamped") {
    std::memset(r.data, 'h', PM_WRITE_HEAD);
    std::memset(r.data + PM_WRITE_HEAD, 't', PM_WRITE_TAIL);
    r.head_len = 100000;
    r.tail_len = 100000;
    Event e = decoded<Write>(r);
    CHECK(e.as<Write>()->head == std::string(PM_WRITE_HEAD, 'h'));
    CHECK(e.as<Write>()->tail == std::string(PM_WRITE_TAIL, 't'));
  }
}

TEST_CASE("decode_record: oom_victim and cgroup_adopt", "[decode]") {
  auto m = wire<pm_ev_oom_victim>(PM_EV_OOM_VICTIM);
  m.victim_tgid = 777;
  m.victim_uid = 33;
  m.total_vm_pages = 262144;
  std::strcpy(m.victim_comm, "gunicorn");
  Event me = decoded<OomVictim>(m);
  const auto* o = me.as<OomVictim>();
  CHECK(o->victim_pid == 777);
  CHECK(o->victim_uid == 33);
  CHECK(o->total_vm_pages == 262144);
  CHECK(o->victim_comm == "gunicorn");

  auto c = wire<pm_ev_cgroup_adopt>(PM_EV_CGROUP_ADOPT);
  c.cgroup_id = 9876;
  c.level = 2;
  std::strcpy(c.path, "/system.slice/web.service");
  Event ce = decoded<CgroupAdopt>(c);
  const auto* a = ce.as<CgroupAdopt>();
  CHECK(a->cgroup_id == 9876);
  CHECK(a->level == 2);
  CHECK(a->path == "/system.slice/web.service");
}

TEST_CASE("decode_record: short, inconsistent and unknown records are refused", "[decode]") {
  auto r = wire<pm_ev_exit>(PM_EV_EXIT);

  SECTION("nothing, or less than a header") {
    CHECK(decode_record(nullptr, 0).error == DecodeError::too_short);
    CHECK(decode_record(&r, sizeof(pm_hdr) - 1).error == DecodeError::too_short);
  }
  SECTION("hdr.size disagrees with the buffer") {
    CHECK(decode_record(&r, sizeof(pm_hdr)).error == DecodeError::size_mismatch);
    CHECK(decode_record(&r, sizeof r - 1).error == DecodeError::size_mismatch);
    r.hdr.size = sizeof r + 8;  // claims more than was handed over
    CHECK(decode_record(&r, sizeof r).error == DecodeError::size_mismatch);
  }
  SECTION("hdr.size matches the buffer but not the type's struct") {
    std::vector<unsigned char> big(sizeof r + 8, 0);
    r.hdr.size = big.size();
    std::memcpy(big.data(), &r, sizeof r);
    CHECK(decode_record(big.data(), big.size()).error == DecodeError::size_mismatch);
    r.hdr.size = sizeof(pm_hdr) + 4;
    CHECK(decode_record(&r, sizeof(pm_hdr) + 4).error == DecodeError::size_mismatch);
  }
  SECTION("a type this version does not know") {
    r.hdr.type = 99;
    CHECK(decode_record(&r, sizeof r).error == DecodeError::unknown_type);
    r.hdr.type = PM_EV_TYPE_MAX;
    CHECK(decode_record(&r, sizeof r).error == DecodeError::unknown_type);
    r.hdr.type = PM_EV_INVALID;
    CHECK(decode_record(&r, sizeof r).error == DecodeError::unknown_type);
  }
  SECTION("the same record decodes once its size is right") {
    CHECK(decode_record(&r, sizeof r).error == DecodeError::none);
  }
}

TEST_CASE("consistent: the header type must name the payload", "[decode]") {
  Event e;
  e.hdr.type = EventType::exit;
  e.body = Exit{};
  CHECK(consistent(e));
  e.hdr.type = EventType::fork;
  CHECK_FALSE(consistent(e));
  e.body = Fork{1};
  CHECK(consistent(e));
  e.hdr.type = EventType::cgroup_adopt;
  e.body = CgroupAdopt{};
  CHECK(consistent(e));
  e.hdr.type = EventType::exec;
  CHECK_FALSE(consistent(e));
  e.body = Exec{};
  CHECK(consistent(e));
}
