// Writes the seed corpus of the decode fuzzer: one realistic ring-buffer record
// per event type, filled through the wire structs of bpf/pmtrace.h (so the
// seeds follow the header), a zero-filled one per row of the event catalogue
// (bpf/pmtrace_events.def), plus a malformed one.
//
//   c++ -std=c++20 -I bpf tests/fuzz/make_seeds.cpp -o /tmp/make_seeds
//   /tmp/make_seeds tests/fuzz/corpus/decode
//
// (Run from the top of the repository. <signal.h> is not included: it defines
// sa_handler as a macro, which breaks pm_ev_signal_deliver.handler.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "pmtrace.h"

namespace {

std::string g_dir;

void put(const std::string& name, const void* data, std::size_t size) {
  std::ofstream out(g_dir + "/" + name, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::perror(name.c_str());
    std::exit(1);
  }
}

template <typename T>
T rec(__u16 type, const char* comm) {
  T r;
  std::memset(&r, 0, sizeof r);
  r.hdr.type = type;
  r.hdr.size = sizeof r;
  r.hdr.ts_ns = 5123456789ull;
  r.hdr.tgid = 4201;
  r.hdr.tid = 4201;
  r.hdr.ppid = 4200;
  r.hdr.uid = 33;
  r.hdr.gid = 33;
  r.hdr.cgroup_id = 0x1234;
  std::strncpy(r.hdr.comm, comm, sizeof r.hdr.comm);
  return r;
}

template <typename T>
void put(const std::string& name, const T& r) {
  put(name, &r, sizeof r);
}

template <std::size_t N>
void set(char (&dst)[N], const char* s) {
  std::strncpy(dst, s, N);
}

void inet(pm_sockaddr& a, const char* ip, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin.sin_addr);
  a.family = AF_INET;
  a.len = sizeof sin;
  std::memcpy(a.raw, &sin, sizeof sin);
}

void inet6(pm_sockaddr& a, const char* ip, std::uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &sin6.sin6_addr);
  a.family = AF_INET6;
  a.len = sizeof sin6;
  std::memcpy(a.raw, &sin6, sizeof sin6);
}

void unix_path(pm_sockaddr& a, const std::string& path, bool abstract) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::size_t off = abstract ? 1 : 0;
  std::memcpy(sun.sun_path + off, path.data(), path.size());
  a.family = AF_UNIX;
  a.len = static_cast<__u16>(offsetof(sockaddr_un, sun_path) + off + path.size() + (abstract ? 0 : 1));
  std::memcpy(a.raw, &sun, sizeof sun);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];

  {
    auto r = rec<pm_ev_exec>(PM_EV_EXEC, "gunicorn");
    r.old_tid = 4201;
    set(r.filename, "/srv/venv/bin/gunicorn");
    set(r.interp, "/srv/venv/bin/python3");
    const char args[] = "/srv/venv/bin/python3\0/srv/venv/bin/gunicorn\0--workers\0003\0projectmeats.wsgi";
    std::memcpy(r.args, args, sizeof args);
    r.args_len = sizeof args;
    put("exec", r);
    r.hdr.flags = PM_F_TRUNCATED | PM_F_ADOPTED;
    r.args_len = 30;  // cut mid-argument
    put("exec-truncated", r);
  }
  {
    auto r = rec<pm_ev_exec_fail>(PM_EV_EXEC_FAIL, "bash");
    r.err = 2;
    set(r.filename, "/srv/app/run.sh");
    put("exec-fail", r);
  }
  {
    auto r = rec<pm_ev_fork>(PM_EV_FORK, "gunicorn");
    r.child_tgid = 4202;
    put("fork", r);
  }
  {
    auto r = rec<pm_ev_exit>(PM_EV_EXIT, "gunicorn");
    r.exit_code = 3 << 8;
    r.start_ns = 5000000000ull;
    put("exit", r);
  }
  {
    auto r = rec<pm_ev_signal_generate>(PM_EV_SIGNAL_GENERATE, "systemd");
    r.sig = 15;
    r.target_tgid = 4200;
    r.target_tid = 4200;
    set(r.target_comm, "gunicorn");
    r.group = 1;
    r.sender_pid = 1;
    put("signal-generate", r);
  }
  {
    auto r = rec<pm_ev_signal_deliver>(PM_EV_SIGNAL_DELIVER, "gunicorn");
    r.sig = 15;
    r.sender_pid = 1;
    r.handler = 0x7f0000001000ull;
    r.syscall_nr = 7;  // poll
    r.syscall_fd = 5;
    r.syscall_ret = -514;  // -ERESTARTNOHAND
    put("signal-deliver", r);
  }
  {
    auto r = rec<pm_ev_open_fail>(PM_EV_OPEN_FAIL, "python3");
    r.dfd = -100;
    r.err = 13;
    r.flags = 0x80000;
    set(r.path, "/etc/projectmeats/secrets.json");
    put("open-fail", r);
  }
  {
    auto r = rec<pm_ev_connect>(PM_EV_CONNECT, "gunicorn");
    r.fd = 7;
    r.err = 111;
    r.duration_ns = 42000;
    inet(r.addr, "10.0.0.5", 5432);
    put("connect-inet", r);
    unix_path(r.addr, "/var/run/postgresql/.s.PGSQL.5432", false);
    r.err = 2;
    put("connect-unix", r);
    unix_path(r.addr, "/tmp/.X11-unix/X0", true);
    put("connect-abstract", r);
  }
  {
    auto r = rec<pm_ev_tcp_connect>(PM_EV_TCP_CONNECT, "gunicorn");
    r.oldstate = 2;
    r.newstate = 7;
    r.duration_ns = 3000000000ull;
    inet6(r.peer, "2001:db8::10", 5432);
    put("tcp-connect", r);
  }
  {
    auto r = rec<pm_ev_bind>(PM_EV_BIND, "gunicorn");
    r.fd = 5;
    r.err = 98;
    inet(r.addr, "0.0.0.0", 8000);
    put("bind", r);
  }
  {
    auto r = rec<pm_ev_listen>(PM_EV_LISTEN, "gunicorn");
    inet6(r.addr, "::", 8000);
    put("listen", r);
  }
  {
    auto r = rec<pm_ev_write>(PM_EV_WRITE, "gunicorn");
    r.fd = 2;
    const char head[] = "Traceback (most recent call last):\n  File \"/srv/app/wsgi.py\", line 5\n";
    const char tail[] = "ModuleNotFoundError: No module named 'dotenv'\n";
    std::memcpy(r.data, head, sizeof head - 1);
    std::memcpy(r.data + PM_WRITE_HEAD, tail, sizeof tail - 1);
    r.head_len = sizeof head - 1;
    r.tail_len = sizeof tail - 1;
    r.count = 4000;
    put("write", r);
  }
  {
    auto r = rec<pm_ev_oom_victim>(PM_EV_OOM_VICTIM, "kswapd0");
    r.victim_tgid = 4202;
    r.victim_uid = 33;
    r.total_vm_pages = 262144;
    set(r.victim_comm, "gunicorn");
    put("oom-victim", r);
  }
  {
    auto r = rec<pm_ev_cgroup_adopt>(PM_EV_CGROUP_ADOPT, "systemd");
    r.cgroup_id = 0x5678;
    r.level = 2;
    set(r.path, "/system.slice/projectmeats.service");
    put("cgroup-adopt", r);
  }
  {
    auto r = rec<pm_ev_chdir_fail>(PM_EV_CHDIR_FAIL, "gunicorn");
    r.err = 2;
    set(r.path, "/srv/app/current");
    put("chdir-fail", r);
  }
  {
    auto r = rec<pm_ev_milestone>(PM_EV_MILESTONE, "gunicorn");
    r.kind = PM_MS_ACCEPT;
    r.fd = 9;
    inet(r.addr, "127.0.0.1", 51234);
    put("milestone-accept", r);
  }
  {
    // Malformed: shorter than a header.
    auto r = rec<pm_ev_fork>(PM_EV_FORK, "x");
    put("too-short", &r, sizeof(pm_hdr) - 1);
  }
  // Every row of the event catalogue, zero-filled: a type added to the
  // catalogue has a seed before anyone writes a realistic one for it.
#define PM_EVENT(number, WIRE, wire, name, Model, description) put("zero-" #name, rec<wire>(PM_EV_##WIRE, "x"));
#include "pmtrace_events.def"
#undef PM_EVENT
  return 0;
}
