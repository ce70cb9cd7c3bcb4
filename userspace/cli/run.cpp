// pmtrace run [--unit U] -- CMD...: start CMD already traced and follow it.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/session.h"
#include "investigation/end_rules.h"
#include "model/clock.h"
#include "target/unit.h"
#include "util/fd.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace pm::cli {
namespace {

// A child that waits at a gate until it is tracked, then execs the command:
// nothing it does between fork and exec escapes the trace.
struct GatedChild {
  pid_t pid = -1;
  Fd gate;  // write one byte to release the child

  static Result<GatedChild> spawn(const std::vector<std::string>& argv) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return cannot_trace_errno("failed to create a pipe");
    Fd rd(p[0]), wr(p[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return cannot_trace_errno("failed to fork for the command");
    if (pid == 0) {
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      // The command starts with no signal blocked, whatever pmtrace blocks
      // (the ptrace backend blocks SIGCHLD to wait for it).
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      char c;
      ssize_t n;
      do {
        n = ::read(rd.get(), &c, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) ::_exit(127);  // pmtrace went away before releasing us
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    GatedChild c;
    c.pid = pid;
    c.gate = std::move(wr);
    return c;
  }

  void release() {
    char c = 'g';
    ssize_t n = ::write(gate.get(), &c, 1);
    (void)n;
    gate.reset();
  }
};

}  // namespace

int cmd_run(const RunOptions& opts) {
  if (opts.command.empty()) return report_error(make_error("nothing to run: give a command after --, e.g. pmtrace run -- systemctl start myapp"));
  if (find_in_path(opts.command[0]).empty())
    return report_error(make_error("command not found: " + opts.command[0]));
  auto timeout_ms = parse_duration_ms(opts.timeout);
  auto settle_ms = parse_duration_ms(opts.settle);
  if (!timeout_ms || !settle_ms)
    return report_error(make_error("--timeout and --settle take durations such as 30s, 500ms or 2m"));

  sources::BpfConfig cfg;
  std::vector<std::string> units = opts.units;
  for (const auto& u : target::units_started_by(opts.command))
    if (std::find(units.begin(), units.end(), u) == units.end()) units.push_back(u);
  std::vector<UnitScope> scopes;
  for (const auto& name : units) {
    auto scope = unit_scope(name);
    if (!scope) return report_error(scope.error());
    if (auto r = add_unit_to_scope(*scope, cfg); !r) return report_error(r.error());
    scopes.push_back(*scope);
    if (scope->name_only)
      spdlog::info("{}: also tracing a cgroup {} when it is created anywhere in the cgroup tree", scope->why_unknown,
                   scope->unit);
    else
      spdlog::info("also tracing unit {} (cgroup {}{})", scope->unit, scope->rel,
                   scope->exists ? "" : ", created when it starts");
  }

  SessionOptions so;
  if (auto r = apply_common(opts.common, so); !r) return report_error(r.error());
  install_stop_handlers();
  auto t0 = model::Clock::monotonic_ns();
  auto src = open_source(cfg, opts.common, true, true);
  if (!src) return report_error(src.error());
  bool traced_by_ptrace = (*src)->backend() == sources::Backend::ptrace;
  if (traced_by_ptrace && !scopes.empty())
    spdlog::warn("the ptrace backend follows the command's process tree only, not the unit's cgroup");

  // Resolved here, so the trace does not open with execvp's walk over $PATH.
  std::vector<std::string> argv = opts.command;
  argv[0] = find_in_path(argv[0]);
  auto child = GatedChild::spawn(argv);
  if (!child) return report_error(child.error());
  if (auto r = (*src)->track_pid(child->pid); !r) {
    ::kill(child->pid, SIGKILL);
    ::waitpid(child->pid, nullptr, 0);
    return report_error(r.error());
  }

  report::RunInfo info;
  info.mode = "run";
  info.target = join(opts.command, " ");
  info.backend = (*src)->name();
  info.clock = model::Clock::now();
  info.start_ns = model::Clock::monotonic_ns();
  spdlog::debug("tracing ready in {} ms", (info.start_ns - t0) / 1000000);

  so.deadline_ms = *timeout_ms;
  Session session(**src, info, std::move(so));
  for (const auto& s : scopes) session.add_unit_context(s.unit, s.id);
  session.seed(static_cast<std::uint32_t>(child->pid));
  session.investigation().set_wrapped(static_cast<std::uint32_t>(child->pid));
  child->release();

  bool child_done = false;
  int child_status = 0;
  target::Procfs procfs;
  std::uint64_t last_prune = 0, last_probe = 0;
  const auto wrapped = static_cast<std::uint32_t>(child->pid);
  // When the start is over: investigation/end_rules (docs/investigation.md).
  investigation::EndRules end_rules;
  investigation::EndInputs in;
  in.wrapped = true;
  in.start_ns = info.start_ns;
  in.settle_ns = static_cast<std::uint64_t>(*settle_ms) * 1000000ull;
  const investigation::SyscallProbe probe = [&](std::uint32_t pid) { return procfs.syscall_of(pid); };
  std::string reason = session.run([&]() -> std::optional<std::string> {
    // Under ptrace pmtrace is the child's tracer too: its wait statuses are
    // the source's (a waitpid here would take its stops); the exit event says
    // when it ended.
    if (!child_done && traced_by_ptrace) child_done = !session.table().live(wrapped);
    else if (!child_done && ::waitpid(child->pid, &child_status, WNOHANG) == child->pid) child_done = true;
    auto now = model::Clock::monotonic_ns();
    if (now - last_prune > 500000000ull) {
      session.prune_gone(procfs);
      last_prune = now;
    }
    const auto& agg = session.investigation().aggregator();
    // What is in flight: read from /proc a few times a second, not every poll.
    if (now - last_probe > 200000000ull) {
      in.busy = investigation::in_flight(agg, probe);
      last_probe = now;
    }
    auto& t = session.table();
    in.now_ns = now;
    in.wrapped_running = !child_done;
    in.wrapped_is_service = false;
    for (const auto& e : agg.listens()) in.wrapped_is_service |= e.hdr.pid == wrapped;
    in.live = t.live_count();
    in.listening = t.listening();
    in.last_event_ns = t.last_event_ns();
    // Every poll, not with the probe: the moment the last process of a unit
    // ends, the run must already know Restart= will start it again.
    in.restart_due_ns = investigation::restart_due(agg);
    return end_rules.check(in);
  });
  if (reason == "timeout") {
    reason = "--timeout " + opts.timeout + " reached";
    if (auto going = end_rules.still_going(in); !going.empty()) reason += " while " + going;
  }
  if (!child_done && !traced_by_ptrace) {
    // Stopped early: the command keeps its own fate (Ctrl-C reached it too).
    if (::waitpid(child->pid, &child_status, WNOHANG) == child->pid) child_done = true;
  }
  return session.finish(reason);
}

}  // namespace pm::cli
