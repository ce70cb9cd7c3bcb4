#include "target/journal.h"

#include <systemd/sd-journal.h>

#include <cstring>
#include <deque>
#include <memory>

namespace pm::target {
namespace {

struct JournalCloser {
  void operator()(sd_journal* j) const { sd_journal_close(j); }
};

std::string field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0) return "";
  std::string s(static_cast<const char*>(data), len);
  auto eq = s.find('=');
  return eq == std::string::npos ? "" : s.substr(eq + 1);
}

}  // namespace

Result<std::vector<analysis::JournalLine>> journal_lines(const std::string& unit, std::uint64_t since_wall_us,
                                                         std::int64_t wall_minus_mono_ns, const std::string& root,
                                                         std::size_t max) {
  sd_journal* raw = nullptr;
  int r = root.empty() ? sd_journal_open(&raw, SD_JOURNAL_LOCAL_ONLY)
                       : sd_journal_open_directory(&raw, root.c_str(), SD_JOURNAL_OS_ROOT);
  if (r < 0) return errno_error("failed to open the journal" + (root.empty() ? std::string() : " under " + root), -r);
  std::unique_ptr<sd_journal, JournalCloser> j(raw);
  // The service manager's messages about the unit, or its processes' own.
  std::string by_manager = "UNIT=" + unit, by_unit = "_SYSTEMD_UNIT=" + unit;
  if ((r = sd_journal_add_match(j.get(), by_manager.c_str(), 0)) < 0 ||
      (r = sd_journal_add_disjunction(j.get())) < 0 ||
      (r = sd_journal_add_match(j.get(), by_unit.c_str(), 0)) < 0)
    return errno_error("failed to filter the journal for " + unit, -r);
  if ((r = sd_journal_seek_realtime_usec(j.get(), since_wall_us)) < 0)
    return errno_error("failed to seek in the journal", -r);
  std::deque<analysis::JournalLine> lines;
  while ((r = sd_journal_next(j.get())) > 0) {
    std::uint64_t wall_us = 0;
    if (sd_journal_get_realtime_usec(j.get(), &wall_us) < 0 || wall_us < since_wall_us) continue;
    analysis::JournalLine l;
    l.unit = unit;
    // systemd's words carry UNIT=: PID 1's, and its child's for a command
    // before exec ("Failed at step USER spawning ..."); a service's own
    // output never does.
    l.by_manager = field(j.get(), "UNIT") == unit;
    l.message = field(j.get(), "MESSAGE");
    if (l.message.empty()) continue;
    std::int64_t mono = static_cast<std::int64_t>(wall_us) * 1000 - wall_minus_mono_ns;
    l.ts_ns = mono > 0 ? static_cast<std::uint64_t>(mono) : 0;
    if (auto pid = field(j.get(), "_PID"); !pid.empty()) l.pid = static_cast<std::uint32_t>(std::strtoul(pid.c_str(), nullptr, 10));
    lines.push_back(std::move(l));
    if (lines.size() > max) lines.pop_front();
  }
  if (r < 0) return errno_error("failed to read the journal", -r);
  return std::vector<analysis::JournalLine>(lines.begin(), lines.end());
}

}  // namespace pm::target
