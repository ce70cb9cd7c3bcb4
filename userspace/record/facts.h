// Facts: what pmtrace reads of the machine besides events, as JSON records,
// so that a recording explains a failure the way the live run did.
//
// Two kinds. Pushed facts are read while the service runs and handed to the
// aggregator (the memory limit of a process's cgroup, the database its
// environment names, the unit's EnvironmentFile=). Looked-up facts are the
// aggregator's questions at report time (a file's owner and mode, a path's
// lstat, a user's name): live, the FactStore answers them from the machine
// and remembers (and records) each answer; replayed, it answers from the
// recording alone. The live report and the replayed one see the same answers.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "analysis/aggregator.h"

namespace pm::record {

nlohmann::json memory_limit_fact(std::uint32_t pid, const std::string& limit);
nlohmann::json database_fact(const model::SockAddr& addr, const std::string& what);
nlohmann::json env_file_fact(const analysis::EnvFileInfo& f);
nlohmann::json unit_fact(const std::string& unit);  // the systemd unit traced
// The unit traced and what its settings say about its start.
nlohmann::json unit_fact(const analysis::UnitContext& u);
// Where a process lives: its cgroup path, whether NOTIFY_SOCKET reached it.
nlohmann::json process_fact(std::uint32_t pid, const std::string& cgroup_path, std::optional<bool> notify_socket);
// A process already running when tracing began (attach), from /proc.
nlohmann::json running_fact(std::uint32_t pid, std::uint32_t ppid, const std::string& comm,
                            const std::vector<std::string>& argv);
// A unit's cgroup id, read when tracing began.
nlohmann::json unit_cgroup_fact(const std::string& unit, std::uint64_t id);
// The process `pmtrace run` started.
nlohmann::json wrapped_fact(std::uint32_t pid);
// A journal entry about a traced unit.
nlohmann::json journal_fact(const analysis::JournalLine& l);

// Where the live answers come from (empty members: no answer).
struct Lookups {
  analysis::FileLookup file, path;
  analysis::NameLookup users, groups;
  analysis::PortLookup ports;
};

class FactStore {
 public:
  using RecordFn = std::function<void(const nlohmann::json&)>;

  // Applies one fact: pushed facts go to the aggregator, answers are kept.
  // False (and why) when the fact is malformed; unknown kinds are ignored.
  bool apply(const nlohmann::json& fact, analysis::Aggregator& agg, std::string* why = nullptr);

  // Makes the aggregator ask this store. A question not answered yet goes to
  // `live` (if any); its answer is kept and passed to `record`.
  void install(analysis::Aggregator& agg, Lookups live = {}, RecordFn record = nullptr);
  // Answers from now on come from these (a container's root once the unit is
  // found to run in one); answers already given stay.
  void set_live(Lookups live) { live_ = std::move(live); }

 private:
  std::optional<analysis::FileFacts> file(const std::string& kind, const std::string& path);
  std::string name(const std::string& kind, std::uint32_t id);
  std::vector<analysis::PortHolder> holders(std::uint16_t port);

  std::map<std::pair<std::string, std::string>, std::optional<analysis::FileFacts>> files_;  // (kind, path)
  std::map<std::pair<std::string, std::uint32_t>, std::string> names_;                       // (kind, id)
  std::map<std::uint16_t, std::vector<analysis::PortHolder>> ports_;
  Lookups live_;
  RecordFn record_;
};

}  // namespace pm::record
