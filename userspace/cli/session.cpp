#include "cli/session.h"

#include "cli/common.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>


#include "model/clock.h"
#include "util/redact.h"
#include "rules/finding.h"
#include "target/envfile.h"
#include "target/unit.h"
#include "target/unit_file.h"
#include "target/host.h"
#include "util/strings.h"

namespace pm::cli {

using target::host_file_lookup;
using target::host_group_name;
using target::host_user_name;

std::atomic<int> g_stop_requests{0};

namespace {
void on_stop_signal(int) {
  if (g_stop_requests.fetch_add(1) >= 1) {
    // A second request forces the exit, at the cost of the report.
    const char msg[] = "pmtrace: stopped without a report (second signal)\n";
    ssize_t n = ::write(2, msg, sizeof msg - 1);
    (void)n;
    ::_exit(130);
  }
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the poll returns EINTR at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

Session::Session(sources::Source& src, report::RunInfo info, SessionOptions opts)
    : src_(src), info_(std::move(info)), opts_(std::move(opts)) {
  // File owners, user names: asked by the rules at report time, answered from
  // this machine (and recorded) when live, from the recording when not.
  record::Lookups live;
  if (opts_.live) live = {host_file_lookup(), target::host_path_lookup(), host_user_name, host_group_name};
  facts_.install(agg_, std::move(live), [this](const nlohmann::json& f) {
    if (opts_.recording) opts_.recording->fact(f);
  });
  if (opts_.recording) opts_.recording->header(recording_header(info_));
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/pmtrace-spool-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd >= 0) {
    spool_.open(path, std::ios::in | std::ios::out | std::ios::trunc | std::ios::binary);
    ::unlink(path.c_str());
    ::close(fd);
  }
  if (!spool_.is_open()) spdlog::warn("cannot create a spool file in {}: the report is kept in memory", path);
  std::ostream& out = spool_.is_open() ? static_cast<std::ostream&>(spool_) : memory_;
  if (opts_.json)
    sink_ = std::make_unique<report::JsonSink>(out);
  else
    sink_ = std::make_unique<report::TextSink>(out);
  sink_->begin(info_);
  if (opts_.verbose) {
    live_ = std::make_unique<report::TextSink>(std::cerr);
    live_->begin(info_);
  }
  if (!opts_.text_report.empty()) {
    // Created 0600 and never through a symlink: the report names users and paths.
    int fd = ::open(opts_.text_report.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      text_file_.open(opts_.text_report, std::ios::out | std::ios::trunc);
    }
    if (text_file_.is_open()) {
      text_ = std::make_unique<report::TextSink>(text_file_);
      text_->begin(info_);
    } else {
      spdlog::warn("cannot write the text report to {}: {}", opts_.text_report, std::strerror(errno));
    }
  }
}

bool Session::apply_fact(const nlohmann::json& fact, std::string* why) {
  if (!facts_.apply(fact, agg_, why)) return false;
  if (opts_.recording) opts_.recording->fact(fact);
  return true;
}

void Session::read_process_start(std::uint32_t pid) {
  if (!opts_.live) return;
  for (const auto& f : process_start_facts(pid)) apply_fact(f);
}

void Session::seed(std::uint32_t pid) {
  table().seed(pid);
  if (auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline"))
    learn_secrets_from_argv(split(*cmdline, '\0'));
  read_process_start(pid);
}

void Session::on_event(model::Event&& e) {
  if (const auto* x = e.as<model::Exec>()) {
    learn_secrets_from_argv(x->argv);
    read_process_start(e.hdr.pid);
  }
  agg_.on_event(e);
  if (opts_.recording) opts_.recording->event(e);
  if (live_) live_->event(e);
  if (text_) text_->event(e);
  sink_->event(e);
  ++events_;
}

void Session::add_unit_context(const std::string& unit, const std::string& unit_file) {
  apply_fact(record::unit_fact(unit));
  // As systemd loads it: the unit file and its drop-ins, specifiers expanded.
  std::vector<std::string> env_files;
  auto u = target::load_unit_file(unit, target::UnitEnv::from_system());
  if (u) {
    for (const auto* s : u->list("Service", "EnvironmentFile")) {
      auto expanded = target::expand_specifiers(s->value, u->name);
      env_files.push_back(expanded ? *expanded : s->value);
    }
  } else if (auto text = unit_file.empty() ? std::nullopt : read_file(unit_file)) {
    env_files = target::environment_files_from_unit_text(*text);
  }
  for (auto path : env_files) {
    analysis::EnvFileInfo info;
    info.unit = unit;
    info.optional = starts_with(path, "-");
    if (info.optional) path.erase(0, 1);
    info.path = path;
    if (auto content = read_file(path)) {
      info.readable = true;
      auto parsed = target::parse_env_file(*content);
      for (const auto& v : parsed.vars) {
        info.keys.push_back(v.key);
        learn_secrets_from_argv({v.key + "=" + v.value});
      }
      for (const auto& i : parsed.issues) info.issues.push_back({i.line, i.text, i.key, i.problem, i.corrected});
    }
    apply_fact(record::env_file_fact(info));
  }
}

void Session::prune_gone(const target::Procfs& procfs) {
  for (auto pid : table().live_pids())
    if (!procfs.exists(pid)) table().forget(pid);
}

std::string Session::run(const std::function<std::optional<std::string>()>& done) {
  const sources::EventFn fn = [this](model::Event&& e) { on_event(std::move(e)); };
  std::string reason;
  for (;;) {
    if (g_stop_requests.load()) {
      reason = "stopped by signal";
      break;
    }
    auto r = src_.poll(50, fn);
    if (!r) {
      spdlog::error("{}", r.error().describe());
      reason = "source failed";
      break;
    }
    if (opts_.recording) {
      opts_.recording->losses(src_.losses());
      opts_.recording->maybe_flush(model::Clock::monotonic_ns());
    }
    if (src_.exhausted()) {
      reason = "end of the recording";
      break;
    }
    if (auto why = done()) {
      reason = *why;
      break;
    }
    if (opts_.deadline_ms) {
      auto elapsed_ms = (model::Clock::monotonic_ns() - info_.start_ns) / 1000000;
      if (static_cast<long long>(elapsed_ms) >= *opts_.deadline_ms) {
        reason = opts_.deadline_reason;
        break;
      }
    }
  }
  end_ns_ = model::Clock::monotonic_ns();
  // Whatever is still in the ring buffer was captured: read it.
  (void)src_.poll(0, fn);
  if (auto recorded_end = src_.end_ns()) end_ns_ = *recorded_end;
  return reason;
}

int Session::finish(const std::string& end_reason) {
  report::Summary s = report::summarize(agg_, end_ns_ ? end_ns_ : model::Clock::monotonic_ns());
  s.events = events_;
  s.losses = src_.losses();
  s.notes = src_.notes();
  s.end_reason = end_reason;
  if (opts_.recording) {
    record::Trailer t{s.end_ns, s.events, s.end_reason, s.losses, s.notes};
    auto done = opts_.recording->finish(t);
    if (done) spdlog::info("recording written to {}", opts_.recording->path());
    else s.notes.push_back("the recording is incomplete: " + done.error().message);
  }
  sink_->end(s);
  if (text_) text_->end(s);
  if (spool_.is_open()) {
    spool_.flush();
    spool_.seekg(0);
    std::cout << spool_.rdbuf();
  } else {
    std::cout << memory_.str();
  }
  std::cout.flush();
  return s.exit_status;
}

}  // namespace pm::cli
