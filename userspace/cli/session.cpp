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
#include "util/strings.h"

namespace pm::cli {

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
    : src_(src), info_(std::move(info)), opts_(std::move(opts)), inv_(opts_.live, [this](const nlohmann::json& f) {
        if (opts_.recording) opts_.recording->fact(f);
      }) {
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
    sink_ = std::make_unique<report::TextSink>(out, opts_.full_timeline || opts_.verbose);
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
      text_ = std::make_unique<report::TextSink>(text_file_, opts_.full_timeline || opts_.verbose);
      text_->begin(info_);
    } else {
      spdlog::warn("cannot write the text report to {}: {}", opts_.text_report, std::strerror(errno));
    }
  }
}

void Session::on_event(model::Event&& e) {
  inv_.on_event(e);
  if (opts_.recording) opts_.recording->event(e);
  if (live_) live_->event(e);
  if (text_) text_->event(e);
  sink_->event(e);
  ++events_;
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
  report::Summary s = inv_.summarize(end_ns_ ? end_ns_ : model::Clock::monotonic_ns());
  s.events = events_;
  s.losses = src_.losses();
  auto own = std::move(s.notes);  // the investigation's (the journal it could not read)
  s.notes = src_.notes();
  s.notes.insert(s.notes.end(), own.begin(), own.end());
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
