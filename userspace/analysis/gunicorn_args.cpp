#include "analysis/gunicorn_args.h"

#include <cctype>
#include <map>

#include "analysis/aggregator.h"
#include "util/strings.h"

namespace pm::analysis {
namespace {

// Options that take a value, by every name gunicorn gives them, mapped to the
// field name used below ("" for the ones pmtrace does not need).
const std::map<std::string, std::string>& valued() {
  static const std::map<std::string, std::string> m = {
      {"-b", "bind"}, {"--bind", "bind"}, {"-w", "workers"}, {"--workers", "workers"},
      {"-t", "timeout"}, {"--timeout", "timeout"}, {"-c", "config"}, {"--config", "config"},
      {"--chdir", "chdir"}, {"--error-logfile", "error_log"}, {"--log-file", "error_log"},
      {"--access-logfile", "access_log"}, {"-p", "pid"}, {"--pid", "pid"},
      {"--worker-tmp-dir", "worker_tmp_dir"}, {"--pythonpath", "pythonpath"}, {"-e", "env"}, {"--env", "env"},
      {"-k", ""}, {"--worker-class", ""}, {"-u", ""}, {"--user", ""}, {"-g", ""}, {"--group", ""},
      {"--log-level", ""}, {"--graceful-timeout", ""}, {"--threads", ""}, {"-n", ""}, {"--name", ""},
      {"-m", ""}, {"--umask", ""}, {"--keep-alive", ""}, {"--max-requests", ""},
      {"--max-requests-jitter", ""}, {"--backlog", ""}, {"--worker-connections", ""},
      {"--access-logformat", ""}, {"--log-config", ""}, {"--log-syslog-to", ""}, {"--paste", ""},
      {"--statsd-host", ""}, {"--forwarded-allow-ips", ""}, {"--certfile", ""}, {"--keyfile", ""},
      {"--limit-request-line", ""}, {"--limit-request-fields", ""}, {"--limit-request-field_size", ""},
      {"--proxy-allow-from", ""}, {"--log-syslog-prefix", ""}, {"--log-syslog-facility", ""},
      {"--reload-extra-file", ""}, {"--reload-engine", ""}, {"--statsd-prefix", ""}, {"--dogstatsd-tags", ""},
      {"--ssl-version", ""}, {"--cert-reqs", ""}, {"--ca-certs", ""}, {"--ciphers", ""}, {"--log-config-dict", ""},
      {"--log-config-json", ""}, {"--raw-paste-global-conf", ""}, {"--header-map", ""},
      {"--forwarder-headers", ""}, {"--control-socket", ""},
      {"--control-socket-mode", ""}};
  return m;
}

void apply(GunicornArgs& g, const std::string& field, const std::string& v) {
  if (field == "bind") g.binds.push_back(v);
  else if (field == "workers") {
    if (auto n = parse_int(v); n && *n > 0) g.workers = static_cast<unsigned>(*n);
  } else if (field == "timeout") {
    g.timeout = v;
    g.timeout_given = true;
  } else if (field == "config") g.config = v;
  else if (field == "chdir") g.chdir = v;
  else if (field == "error_log") g.error_log = v;
  else if (field == "access_log") g.access_log = v;
  else if (field == "pid") g.pid_file = v;
  else if (field == "worker_tmp_dir") g.worker_tmp_dir = v;
  else if (field == "pythonpath") {
    for (const auto& p : split(v, ',')) g.pythonpath.push_back(p);
  } else if (field == "env") g.env.push_back(v);
}

}  // namespace

GunicornArgs parse_gunicorn_args(const std::vector<std::string>& argv) {
  GunicornArgs g;
  std::vector<std::string> positionals;
  std::size_t i = 1;
  // python3 /usr/bin/gunicorn ... or python3 -m gunicorn ...
  for (std::size_t k = 0; k < argv.size() && k < 3; ++k)
    if (basename_of(argv[k]) == "gunicorn") i = k + 1;
    else if (argv[k] == "-m" && k + 1 < argv.size() && argv[k + 1] == "gunicorn") i = k + 2;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--preload") {
      g.preload = true;
      continue;
    }
    if (a == "-D" || a == "--daemon") {
      g.daemon = true;
      continue;
    }
    if (auto it = valued().find(a); it != valued().end()) {
      if (i + 1 < argv.size()) apply(g, it->second, argv[++i]);
      continue;
    }
    if (starts_with(a, "--")) {
      auto eq = a.find('=');
      if (eq != std::string::npos)
        if (auto it = valued().find(a.substr(0, eq)); it != valued().end()) apply(g, it->second, a.substr(eq + 1));
      continue;  // a flag, or an option pmtrace does not know
    }
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') {  // -b127.0.0.1:80, -w4
      if (auto it = valued().find(a.substr(0, 2)); it != valued().end()) apply(g, it->second, a.substr(2));
      continue;
    }
    if (!a.empty() && a[0] != '-') positionals.push_back(a);
  }
  // The app spec: gunicorn takes one positional. When an option pmtrace does
  // not know left its value among them, prefer what looks like a spec:
  // "module.path:attr", else a dotted module name, else the last one.
  auto looks_like_module = [](const std::string& p) {
    std::string mod = p.substr(0, p.find(':'));
    if (mod.empty() || std::isdigit(static_cast<unsigned char>(mod[0]))) return false;
    for (char ch : mod)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.')) return false;
    return true;
  };
  for (const auto& p : positionals)
    if (p.find(':') != std::string::npos && looks_like_module(p)) g.app = p;
  if (g.app.empty())
    for (const auto& p : positionals)
      if (looks_like_module(p)) g.app = p;
  if (g.app.empty() && !positionals.empty()) g.app = positionals.back();
  return g;
}

}  // namespace pm::analysis
