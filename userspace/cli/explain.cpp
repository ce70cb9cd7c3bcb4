// pmtrace explain FILE.pmt: the report `run` or `attach` printed, from the
// recording alone, on any machine.
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/session.h"
#include "record/recording.h"
#include "sources/replay_source.h"

namespace pm::cli {

int cmd_explain(const ExplainOptions& opts) {
  auto reader = record::Reader::open(opts.recording);
  if (!reader) return report_error(reader.error());
  const record::Header h = (*reader)->header();
  if (!h.redacted)
    spdlog::warn("{} was recorded with --no-redact: it holds secrets in clear", opts.recording);

  sources::ReplaySource src(std::move(*reader));
  SessionOptions so;
  if (auto r = apply_common(opts.common, so); !r) return report_error(r.error());
  so.live = false;

  report::RunInfo info;
  info.mode = h.mode.empty() ? "explain" : h.mode;
  info.target = h.target;
  info.backend = src.name();
  info.start_ns = h.start_ns;
  info.clock = model::Clock(h.clock_offset_ns);

  install_stop_handlers();
  Session session(src, info, std::move(so));
  src.set_fact_handler([&](const nlohmann::json& f, std::string* why) { return session.apply_fact(f, why); });
  std::string reason = session.run([]() -> std::optional<std::string> { return std::nullopt; });
  if (const auto& t = src.reader().trailer(); t && !t->end_reason.empty() && reason == "end of the recording")
    reason = t->end_reason;
  int status = session.finish(reason);
  if (auto problem = src.problem()) {
    // The report above holds everything that could be read; the exit says it is not all.
    spdlog::error("{} is damaged: {}", opts.recording, *problem);
    return kExitDamagedInput;
  }
  return status;
}

}  // namespace pm::cli
