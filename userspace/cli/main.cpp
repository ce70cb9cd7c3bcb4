// pmtrace: explains why a Python web service will not start or stay up.
// main only parses the command line and hands over to a command.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include <sys/utsname.h>

#include <cstdio>

#include "cli/commands.h"
#include "pmtrace_revision.h"
#include "pmtrace_version.h"
#include "sources/environment.h"

namespace {

// pmtrace --version: what it is and what this machine offers it.
std::string version_text() {
  std::string out = std::string("pmtrace ") + PMTRACE_VERSION + " (git " + PMTRACE_GIT_REVISION + ")\n";
  struct utsname u{};
  if (::uname(&u) == 0) out += std::string("kernel: ") + u.sysname + " " + u.release + " " + u.machine + "\n";
  for (const auto& line : pm::sources::describe_bpf_features()) out += line + "\n";
  if (!out.empty()) out.pop_back();  // CLI11 ends the line
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("pmtrace");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("pmtrace: %^%v%$");

  CLI::App app{"pmtrace: explains why a Python web service will not start or stay up"};
  app.set_version_flag("--version", version_text, "the version, the git revision and the eBPF features found here");
  app.require_subcommand(1);

  pm::cli::RunOptions run;
  pm::cli::AttachOptions attach;
  pm::cli::ExplainOptions explain;
  // The options of every command that writes a report.
  auto add_report = [](CLI::App* sub, pm::cli::CommonOptions& c) {
    sub->add_flag("--json", c.json, "print one JSON object a line");
    sub->add_flag("-v,--verbose", c.verbose, "stream events live on stderr, and libbpf's messages");
    sub->add_option("--text-report", c.text_report, "also write the text report to this file (created 0600)");
    sub->add_option("--timeline", c.timeline,
                    "short: the service's own significant events (default); full: every event, as -v")
        ->check(CLI::IsMember({"short", "full"}))
        ->capture_default_str();
    sub->add_flag("--no-redact", c.no_redact,
                  "do not hide secrets (SECRET_KEY, passwords, tokens): local debugging only, marked in the output");
  };
  // And of every command that traces.
  auto add_common = [&](CLI::App* sub, pm::cli::CommonOptions& c) {
    add_report(sub, c);
    sub->add_option("--record", c.record,
                    "also record the capture to this file (gzip JSON lines, 0600) for `pmtrace explain`");
    sub->add_option("--backend", c.backend, "bpf, ptrace, or auto: eBPF, and ptrace where eBPF cannot be used")
        ->check(CLI::IsMember({"auto", "bpf", "ptrace"}))
        ->capture_default_str();
    sub->add_option("--ringbuf-size", c.ringbuf_size, "ring buffer size, a power of two (64K, 16M)")
        ->capture_default_str();
  };

  auto* run_cmd = app.add_subcommand("run", "start a command already traced and follow its processes");
  add_common(run_cmd, run.common);
  run_cmd->add_option("--unit", run.units, "also trace this systemd unit's cgroup (guessed from systemctl start)");
  run_cmd->add_option("--timeout", run.timeout, "stop after this long")->capture_default_str();
  run_cmd->add_option("--settle", run.settle, "a listening service quiet this long counts as started")
      ->capture_default_str();
  run_cmd->add_option("command", run.command, "the command, after --")->required(false);
  run_cmd->positionals_at_end();

  auto* attach_cmd = app.add_subcommand("attach", "trace a running (or about to start) service");
  add_common(attach_cmd, attach.common);
  attach_cmd->add_option("target", attach.target, "a pid, a systemd unit, a process name or a cgroup path")->required();
  attach_cmd->add_option("--duration", attach.duration, "stop after this long (default: until Ctrl-C)");
  attach_cmd->add_option("--settle", attach.settle, "a listening service quiet this long is said to have started")
      ->capture_default_str();
  auto* kind = attach_cmd->add_option_group("kind", "what TARGET is (default: guessed)");
  kind->add_flag_callback("--pid", [&] { attach.kind = "pid"; }, "TARGET is a pid");
  kind->add_flag_callback("--unit", [&] { attach.kind = "unit"; }, "TARGET is a systemd unit");
  kind->add_flag_callback("--name", [&] { attach.kind = "name"; }, "TARGET is a process name");
  kind->add_flag_callback("--cgroup", [&] { attach.kind = "cgroup"; },
                          "TARGET is a cgroup: its path (/sys/fs/cgroup/...) or id (a container's service, from the host)");
  kind->require_option(0, 1);

  pm::cli::WatchOptions watch;
  auto* watch_cmd = app.add_subcommand("watch", "watch services continuously and write an incident when one fails");
  watch_cmd->add_option("targets", watch.targets, "systemd units or process names (default: gunicorn)");
  watch_cmd->add_option("--config", watch.config, "TOML configuration (default /etc/pmtrace/watch.toml, if present)");
  watch_cmd->add_option("--incidents", watch.incidents, "append incidents here (default /var/log/pmtrace/incidents.jsonl)");
  watch_cmd->add_option("--metrics", watch.metrics, "Prometheus textfile to rewrite (node_exporter's textfile collector)");
  watch_cmd->add_option("--record-dir", watch.record_dir, "write each incident's window as a recording here");
  watch_cmd->add_option("--window", watch.window, "flight recorder size per service (default 4M)");
  watch_cmd->add_option("--restart-limit", watch.restart_limit, "more starts than this within --restart-window is a loop (default 3)");
  watch_cmd->add_option("--restart-window", watch.restart_window, "default 60s");
  watch_cmd->add_option("--settle", watch.settle, "explain a failure this long after it (default 1s)");
  watch_cmd->add_option("--duration", watch.duration, "stop after this long (default: until SIGTERM)");
  watch_cmd->add_flag("-v,--verbose", watch.common.verbose, "libbpf's messages and more");
  watch_cmd->add_flag("--no-redact", watch.common.no_redact, "do not hide secrets: local debugging only");
  watch_cmd->add_option("--record", watch.common.record, "also record every event to this file (gzip JSON lines, 0600)");
  watch_cmd->add_option("--ringbuf-size", watch.common.ringbuf_size, "ring buffer size, a power of two")
      ->capture_default_str();

  pm::cli::DoctorOptions doctor;
  auto* doctor_cmd = app.add_subcommand("doctor", "check a unit before it starts: what would make it fail (read-only)");
  doctor_cmd->add_option("unit", doctor.unit, "the systemd unit")->required();
  doctor_cmd->add_option("--unit-path", doctor.unit_path, "read units from this directory only");
  doctor_cmd->add_flag("--json", doctor.json, "one JSON object");
  doctor_cmd->add_flag("--run-app-checks", doctor.run_app_checks,
                       "also run Django's check --deploy and list unapplied migrations (runs the app's code)");
  doctor_cmd->add_option("--import-timeout", doctor.import_timeout, "time limit for importing the app")->capture_default_str();
  doctor_cmd->add_option("--slowest-request", doctor.slowest_request,
                         "how long the slowest request takes (30s), checked against gunicorn's --timeout");
  doctor_cmd->add_option("--fix-script", doctor.fix_script, "write the fixes as a shell script to FILE, for a person to review");

  auto* explain_cmd = app.add_subcommand("explain", "explain a recording made with --record, on any machine");
  add_report(explain_cmd, explain.common);
  explain_cmd->add_option("recording", explain.recording, "the recording (FILE.pmt)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? pm::kExitOk : pm::kExitUsage;
  }

  try {
    if (app.got_subcommand(run_cmd)) {
      if (run.common.verbose) spdlog::set_level(spdlog::level::debug);
      return pm::cli::cmd_run(run);
    }
    if (app.got_subcommand(attach_cmd)) {
      if (attach.common.verbose) spdlog::set_level(spdlog::level::debug);
      return pm::cli::cmd_attach(attach);
    }
    if (app.got_subcommand(watch_cmd)) {
      if (watch.common.verbose) spdlog::set_level(spdlog::level::debug);
      return pm::cli::cmd_watch(watch);
    }
    if (app.got_subcommand(doctor_cmd)) return pm::cli::cmd_doctor(doctor);
    if (app.got_subcommand(explain_cmd)) {
      if (explain.common.verbose) spdlog::set_level(spdlog::level::debug);
      return pm::cli::cmd_explain(explain);
    }
  } catch (const std::exception& e) {
    return pm::cli::report_error(pm::internal_error(e.what()));
  }
  return pm::cli::report_error(pm::internal_error("no command ran"));
}
