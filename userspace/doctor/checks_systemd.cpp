// Unit settings behind the failures pmtrace explains when they happen:
// Type=notify with a wrapper that loses READY=1, gunicorn -D under the wrong
// Type=, --preload against TimeoutStartSec when a database connect has no
// timeout, gunicorn's --timeout against the slowest request, and Restart=
// without a start limit that can trip. (failure-facts.md: "Startup order and
// systemd", failure modes 1, 3 and 11, "Timeouts and kill sequence".)
#include <sys/socket.h>

#include <algorithm>
#include <limits>

#include "doctor/checks.h"
#include "target/environ.h"
#include "util/strings.h"

namespace pm::doctor {
namespace {

std::string span_text(long long ms) {
  if (ms == std::numeric_limits<long long>::max()) return "infinity";
  return ms % 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
}

long long timespan(const Context& c, const char* section, const char* key, long long def) {
  auto v = c.value(section, key);
  if (v.empty()) return def;
  return target::parse_timespan_ms(v).value_or(def);
}

// TimeoutStartSec=: 0 (like infinity) turns the start timeout off.
long long start_timeout(const Context& c) {
  long long t = timespan(c, "Service", "TimeoutStartSec", timespan(c, "Service", "TimeoutSec", c.defaults.timeout_start_ms));
  return t == 0 ? std::numeric_limits<long long>::max() : t;
}

// How long libpq may wait in connect() for the database: connect_timeout
// when the URL sets one, else the kernel's SYN retries (about 127 s for
// tcp_syn_retries=6: 1+2+4+...+64). 0 when there is no TCP database.
struct DbWait {
  long long ms = 0;
  bool bounded = false;  // connect_timeout set
  std::string why;
};
DbWait database_wait(const Context& c) {
  DbWait w;
  auto it = c.env.find("DATABASE_URL");
  if (it == c.env.end()) return w;
  auto db = target::parse_database_url(it->second);
  if (!db || db->addr.family == AF_UNIX) return w;
  // On loopback a database that is down refuses at once; SYNs are not lost.
  const auto& host = db->addr.address;
  if (starts_with(host, "127.") || host == "::1" || host == "localhost") return w;
  auto q = it->second.find("connect_timeout=");
  if (q != std::string::npos) {
    // libpq: "Zero, negative, or not specified means wait indefinitely".
    long long n = parse_int(it->second.substr(q + 16, it->second.find('&', q) - q - 16)).value_or(0);
    if (n > 0) {
      w.bounded = true;
      w.ms = n * 1000;
      w.why = "connect_timeout=" + std::to_string(n) + " in DATABASE_URL";
      return w;
    }
  }
  long long retries = 6;
  if (auto t = c.host.read_file("/proc/sys/net/ipv4/tcp_syn_retries")) retries = parse_int(trim(*t)).value_or(6);
  retries = std::clamp(retries, 1LL, 20LL);
  w.ms = ((1LL << (retries + 1)) - 1) * 1000;
  w.why = std::string(q == std::string::npos ? "DATABASE_URL has no connect_timeout" : "DATABASE_URL's connect_timeout waits forever") +
          ", so libpq waits for TCP: " + std::to_string(w.ms / 1000) +
          " s with net.ipv4.tcp_syn_retries=" + std::to_string(retries);
  return w;
}

// The connect_timeout to propose: well inside gunicorn's --timeout.
long long proposed_connect_timeout(const Context& c) {
  long long t = parse_int(c.g.timeout).value_or(30);
  return std::clamp(t / 3, 2LL, 10LL);
}

// The fix that adds connect_timeout to DATABASE_URL where the unit sets it.
void add_connect_timeout(const Context& c, Check& k) {
  long long n = proposed_connect_timeout(c);
  auto it = c.env.find("DATABASE_URL");
  std::string add = std::string(it->second.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + std::to_string(n);
  auto src = c.env_where.find("DATABASE_URL");
  if (src == c.env_where.end()) {
    k.fix += (k.fix.empty() ? "" : "; ") + std::string("append ") + add + " to DATABASE_URL";
    return;
  }
  k.fix = "append " + add + " to DATABASE_URL (" + src->second.first + " line " + std::to_string(src->second.second) + ")" +
          (k.fix.empty() ? "" : "; " + k.fix);
  auto lines = split(c.host.read_file(src->second.first).value_or(""), '\n', false);
  if (src->second.second < 1 || src->second.second > static_cast<int>(lines.size())) return;
  std::string text = lines[src->second.second - 1];
  std::string corrected = text;
  while (!corrected.empty() && (corrected.back() == ' ' || corrected.back() == '\t' || corrected.back() == '\r'))
    corrected.pop_back();
  if (!corrected.empty() && (corrected.back() == '"' || corrected.back() == '\''))
    corrected.insert(corrected.size() - 1, add);
  else
    corrected += add;
  k.commands.push_back(edit_line_command(src->second.first, src->second.second, text, corrected));
}

Check check_notify(const Context& c) {
  std::string type = c.value("Service", "Type", "simple");
  std::string access = c.value("Service", "NotifyAccess", type == "notify" ? "main" : "none");
  bool direct = c.gunicorn && c.wrapper.empty();  // ExecStart runs gunicorn (or python -m gunicorn) itself
  if (type != "notify" && type != "notify-reload") {
    if (direct && c.g.daemon && type != "forking")
      return make(CheckId::notify, Status::failure,
                  "gunicorn -D (daemon) under Type=" + type + ": the main process forks and exits at once, and systemd takes the service for stopped",
                  {"Type=" + type, "ExecStart= ... -D"}, "drop -D/--daemon: systemd supervises gunicorn in the foreground");
    if (direct && type == "forking" && !c.g.daemon)
      return make(CheckId::notify, Status::failure,
                  "Type=forking, but gunicorn runs in the foreground (no -D): systemd waits for a fork that never comes and kills the start after TimeoutStartSec",
                  {"Type=forking"}, "Type=notify (gunicorn >= 20 sends READY=1), or Type=exec");
    return make(CheckId::notify, Status::ok, "Type=" + type + ": the start completes when the program runs");
  }
  long long limit = start_timeout(c);
  std::string timed_out = limit == std::numeric_limits<long long>::max()
                              ? "the start never completes (no start timeout: the unit stays 'activating')"
                              : "systemd kills it after TimeoutStartSec (" + span_text(limit) + "), result 'timeout'";
  if (direct) {
    if (c.g.daemon)
      return make(CheckId::notify, Status::failure, "Type=notify with gunicorn -D: the daemonized gunicorn never becomes ready; " + timed_out,
                  {"ExecStart= ... -D"}, "drop -D/--daemon");
    if (!c.app.gunicorn_version.empty() && parse_int(split(c.app.gunicorn_version, '.')[0]).value_or(0) < 20)
      return make(CheckId::notify, Status::failure,
                  "Type=notify, but gunicorn " + c.app.gunicorn_version + " never sends READY=1 (added in 20.0); " + timed_out,
                  {"gunicorn " + c.app.gunicorn_version}, "upgrade gunicorn to 20 or later, or Type=exec");
    return make(CheckId::notify, Status::ok, "Type=notify: gunicorn sends READY=1 itself" +
                                          (c.app.gunicorn_version.empty() ? std::string() : " (gunicorn " + c.app.gunicorn_version + ")"));
  }
  std::string name;
  std::string text = wrapper_text(c, name);
  if (text.find("gunicorn") == std::string::npos)
    return make(CheckId::notify, Status::skipped, "Type=notify: " + c.program + " is not gunicorn; doctor cannot tell whether it sends READY=1");
  std::vector<std::string> evidence;
  bool drops = false, exec = false;
  int n = 0;
  for (const auto& raw : split(text, '\n', false)) {
    ++n;
    std::string line = std::string(trim(raw));
    if (line.empty() || line[0] == '#') continue;
    if (line.find("unset NOTIFY_SOCKET") != std::string::npos || line.find("env -i") != std::string::npos ||
        line.find("-u NOTIFY_SOCKET") != std::string::npos) {
      drops = true;
      evidence.push_back(name + ":" + std::to_string(n) + ": " + line);
    }
    if (line.find("gunicorn") != std::string::npos) {
      exec |= starts_with(line, "exec ") || line.find(" exec ") != std::string::npos;
      evidence.push_back(name + ":" + std::to_string(n) + ": " + line);
    }
  }
  if (drops)
    return make(CheckId::notify, Status::failure,
                "Type=notify, but " + name + " drops NOTIFY_SOCKET before starting gunicorn: READY=1 never reaches systemd; " + timed_out,
                evidence, "keep NOTIFY_SOCKET in the environment gunicorn gets (remove the unset / env -i), or Type=exec");
  if (!exec && access != "all") {
    Check k = make(CheckId::notify, Status::failure,
                   "Type=notify, but " + name + " runs gunicorn without exec: READY=1 comes from gunicorn's pid, not the main "
                   "pid, and NotifyAccess=" + access + " drops it ('Got notification message from PID X, but reception only "
                   "permitted for main PID Y'); " + timed_out,
                   evidence, "write `exec gunicorn ...` in " + name + " (gunicorn becomes the main process), or NotifyAccess=all");
    k.unit_lines.push_back({"Service", "NotifyAccess=all"});
    return k;
  }
  return make(CheckId::notify, Status::ok, "Type=notify: " + name + (exec ? " execs gunicorn" : " runs gunicorn with NotifyAccess=all"));
}

Check check_start_timeout(const Context& c) {
  std::string type = c.value("Service", "Type", "simple");
  if (!c.gunicorn || !c.g.preload || (type != "notify" && type != "notify-reload"))
    return make(CheckId::start_timeout, Status::skipped, "the start is not held by the app's import (no --preload under Type=notify)");
  long long limit = start_timeout(c);
  DbWait w = database_wait(c);
  if (w.ms == 0) return make(CheckId::start_timeout, Status::ok, "no TCP database to wait for; TimeoutStartSec " + span_text(limit));
  if (w.ms < limit)
    return make(CheckId::start_timeout, Status::ok,
                "a database connect at import ends within " + span_text(w.ms) + ", inside TimeoutStartSec " + span_text(limit));
  Check k = make(CheckId::start_timeout, Status::warning,
                 "--preload with TimeoutStartSec " + span_text(limit) + ": a database connect at import can take " +
                     span_text(w.ms) + ", and systemd would kill the start before the app could say why",
                 {"--preload: the app is imported before READY=1", w.why});
  add_connect_timeout(c, k);
  return k;
}

Check check_worker_timeout(const Context& c) {
  if (!c.gunicorn) return make(CheckId::worker_timeout, Status::skipped, "not gunicorn");
  long long t = parse_int(c.g.timeout).value_or(30);
  if (t <= 0) return make(CheckId::worker_timeout, Status::ok, "--timeout " + c.g.timeout + ": workers are never aborted");
  std::string tt = "--timeout " + std::to_string(t) + " s" + (c.g.timeout_given ? "" : " (gunicorn's default)");
  if (c.opts.slowest_request_ms > 0) {
    if (c.opts.slowest_request_ms < t * 1000)
      return make(CheckId::worker_timeout, Status::ok, "the slowest request (" + span_text(c.opts.slowest_request_ms) + ") ends inside " + tt);
    long long want = (c.opts.slowest_request_ms / 1000) * 2;
    return make(CheckId::worker_timeout, Status::failure,
                "the slowest request takes " + span_text(c.opts.slowest_request_ms) + ", longer than " + tt +
                    ": the master aborts the worker in the middle of it (WORKER TIMEOUT, SIGABRT)",
                {"--slowest-request " + span_text(c.opts.slowest_request_ms)},
                "make that request shorter (move the work to a task queue), or --timeout " + std::to_string(want) +
                    " if it is known to be long (or --worker-class gthread)");
  }
  DbWait w = database_wait(c);
  if (w.ms == 0 || w.ms < t * 1000)
    return make(CheckId::worker_timeout, Status::ok, tt + (w.ms ? "; a database connect ends within " + span_text(w.ms) : ""));
  Check k = make(CheckId::worker_timeout, Status::warning,
                 "a request that connects to a database that does not answer waits " + span_text(w.ms) + ", longer than " + tt +
                     ": the worker is aborted (WORKER TIMEOUT) instead of answering an error",
                 {w.why});
  add_connect_timeout(c, k);
  return k;
}

Check check_restart_limit(const Context& c) {
  std::string restart = c.value("Service", "Restart", "no");
  if (restart == "no") return make(CheckId::restart_limit, Status::ok, "Restart=no: a failed start stays failed");
  const auto& d = c.defaults;
  // StartLimitInterval= is the old name, in [Unit] or [Service].
  long long interval = timespan(c, "Unit", "StartLimitIntervalSec",
                                timespan(c, "Unit", "StartLimitInterval",
                                         timespan(c, "Service", "StartLimitInterval", d.start_limit_interval_ms)));
  long long burst = parse_int(c.value("Unit", "StartLimitBurst", c.value("Service", "StartLimitBurst", "")))
                        .value_or(d.start_limit_burst);
  long long delay = timespan(c, "Service", "RestartSec", d.restart_ms);
  std::string limit = "StartLimitBurst=" + std::to_string(burst) + " in StartLimitIntervalSec=" + span_text(interval);
  auto no_limit = [&](std::string why) {
    long long want = std::max<long long>(burst * std::max<long long>(delay, 1000) * 2 / 1000, 60);
    Check k = make(CheckId::restart_limit, Status::warning,
                   "Restart=" + restart + " without a start limit that can trip: " + why +
                       ", so a service that cannot start is restarted forever and the first error scrolls away",
                   {"Restart=" + restart, "RestartSec=" + span_text(delay), limit},
                   "StartLimitIntervalSec=" + std::to_string(want) + " and StartLimitBurst=" + std::to_string(burst) +
                       " in [Unit]: after that many failed starts the unit stays failed");
    k.unit_lines.push_back({"Unit", "StartLimitIntervalSec=" + std::to_string(want)});
    k.unit_lines.push_back({"Unit", "StartLimitBurst=" + std::to_string(burst)});
    return k;
  };
  if (interval == 0 || burst <= 0) return no_limit("StartLimitIntervalSec=0 turns the limit off");
  if (interval != std::numeric_limits<long long>::max() && (burst - 1) * delay >= interval)
    return no_limit(std::to_string(burst) + " starts RestartSec=" + span_text(delay) + " apart take " +
                    span_text((burst - 1) * delay) + ", never inside StartLimitIntervalSec=" + span_text(interval));
  return make(CheckId::restart_limit, Status::ok, "Restart=" + restart + " with " + limit + ": a start that keeps failing stops");
}

}  // namespace

std::vector<Check> check_unit_settings(const Context& c) {
  return {check_notify(c), check_start_timeout(c), check_worker_timeout(c), check_restart_limit(c)};
}

}  // namespace pm::doctor
