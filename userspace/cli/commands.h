#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace pm::cli {

// Exit statuses, the same for every command: pm::ExitStatus (util/result.h).

struct CommonOptions {
  bool json = false;
  bool verbose = false;
  std::string text_report;
  std::string backend = "auto";  // bpf, ptrace, auto (eBPF, else ptrace)  // --text-report FILE: the text report there too (with --json on stdout)
  std::string ringbuf_size = "16M";  // power of two, at least one page: 64K, 16M
  std::string record;                 // --record FILE.pmt
  bool no_redact = false;             // --no-redact: secrets in clear (local debugging)
  std::string timeline = "short";     // --timeline short|full: the text report's timeline
};

struct RunOptions {
  CommonOptions common;
  std::vector<std::string> command;
  std::vector<std::string> units;   // --unit
  std::string timeout = "60s";
  std::string settle = "3s";
};

struct AttachOptions {
  CommonOptions common;
  std::string target;
  std::string kind = "auto";        // auto, pid, unit, name
  std::string duration;             // empty: until Ctrl-C
  std::string settle = "3s";        // a listening service quiet this long is said to have started
};

struct ExplainOptions {
  CommonOptions common;  // --json, -v, --text-report, --no-redact
  std::string recording;
};

struct WatchOptions {
  CommonOptions common;              // --record, --no-redact, -v, --ringbuf-size
  std::vector<std::string> targets;  // units or process names; default: gunicorn
  std::string config;                // default /etc/pmtrace/watch.toml (optional)
  std::string incidents, metrics, record_dir, window, restart_window, settle, duration;
  unsigned restart_limit = 0;        // 0: from the config
};

struct DoctorOptions {
  std::string unit;
  std::string unit_path;  // --unit-path DIR: read units from here only
  bool json = false;
  bool run_app_checks = false;   // Django's check --deploy and migrations
  std::string import_timeout = "20s";
  std::string slowest_request;   // compared with gunicorn's --timeout
  std::string fix_script;        // --fix-script FILE
};

int cmd_run(const RunOptions& opts);
int cmd_doctor(const DoctorOptions& opts);
int cmd_watch(const WatchOptions& opts);
int cmd_explain(const ExplainOptions& opts);
int cmd_attach(const AttachOptions& opts);

// Prints an error (and its hint) the way every command does; returns the
// exit status of its kind (exit_status_of).
int report_error(const Error& e);

}  // namespace pm::cli
