#include "watch/metrics.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "util/redact.h"
#include "util/strings.h"

namespace pm::watch {
namespace {

std::string label(const std::string& v) {
  std::string out;
  for (char c : redact(v)) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string Metrics::render() const {
  std::string o;
  auto one = [&](const char* name, const char* type, const char* help, auto value) {
    family(o, name, type, help);
    o += std::string(name) + " " + std::to_string(value) + "\n";
  };
  one("pmtrace_events_total", "counter", "Events received from the kernel.", events);
  one("pmtrace_events_lost_total", "counter", "Events lost (ring buffer full, untracked processes, malformed).", lost);
  one("pmtrace_enoent_opens_counted_total", "counter",
      "Read-only opens failing ENOENT counted in the kernel instead of emitted.", enoent_counted);
  one("pmtrace_window_dropped_events_total", "counter",
      "Old events dropped from a service's flight recorder to keep it within its size.", window_dropped);
  one("pmtrace_services_watched", "gauge", "Services seen since pmtrace started.", services);
  one("pmtrace_services_untracked_total", "counter", "Services not tracked because of the service limit.",
      untracked_services);
  // Labels are redacted: two services whose keys differ only in a secret
  // (rotated in argv) are one series, summed; a file with the same series
  // twice would be refused by node_exporter.
  std::map<std::string, std::uint64_t> series;
  for (const auto& [k, n] : incidents)
    series["pmtrace_incidents_total{service=\"" + label(k.first) + "\",rule=\"" + label(k.second) + "\"}"] += n;
  family(o, "pmtrace_incidents_total", "counter", "Incidents written, by service and rule of the first finding.");
  for (const auto& [name, n] : series) o += name + " " + std::to_string(n) + "\n";
  series.clear();
  for (const auto& [svc, n] : restarts) series["pmtrace_restarts_total{service=\"" + label(svc) + "\"}"] += n;
  family(o, "pmtrace_restarts_total", "counter", "Starts of each service's main process after its first.");
  for (const auto& [name, n] : series) o += name + " " + std::to_string(n) + "\n";
  char cpu[64];
  std::snprintf(cpu, sizeof cpu, "%.3f", cpu_seconds);
  family(o, "pmtrace_cpu_seconds_total", "counter", "CPU time pmtrace itself used (user and system).");
  o += std::string("pmtrace_cpu_seconds_total ") + cpu + "\n";
  one("pmtrace_resident_memory_bytes", "gauge", "pmtrace's resident memory.", rss_bytes);
  return o;
}

void Metrics::sample_self() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    cpu_seconds = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  if (auto statm = read_file("/proc/self/statm")) {
    auto parts = split(*statm, ' ');
    if (parts.size() > 1)
      if (auto pages = parse_int(parts[1])) rss_bytes = static_cast<std::uint64_t>(*pages) * sysconf(_SC_PAGESIZE);
  }
}

Result<void> write_textfile(const std::string& path, const std::string& text) {
  // node_exporter must never read a half-written file: a temporary beside it,
  // then rename (atomic within a filesystem).
  return replace_file(path, path + ".tmp", text, 0644, "metrics file");
}

}  // namespace pm::watch
