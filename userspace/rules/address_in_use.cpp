// Rule: address already in use. Which address, how often it was tried, and
// which process holds it (seen listening in the trace).
#include <cerrno>
#include <map>

#include "rules/finding.h"

namespace pm::rules {

std::vector<Finding> address_in_use(const analysis::Aggregator& agg) {
  std::map<std::string, Finding> by_addr;
  for (const auto& e : agg.failed_binds()) {
    const auto* b = e.as<model::Bind>();
    if (b->err != EADDRINUSE) continue;
    std::string addr = b->addr.to_string();
    auto [it, inserted] = by_addr.try_emplace(addr);
    Finding& f = it->second;
    if (f.evidence.size() < 6) f.evidence.push_back(e);
    if (!inserted) continue;
    f.ts_ns = e.hdr.ts_ns;
    const analysis::Process* p = agg.process(e.hdr.pid);
    std::string who = p ? describe_process(*p) : e.hdr.comm + " (pid " + std::to_string(e.hdr.pid) + ")";
    f.title = who + " could not bind " + addr + ": address already in use";
    // Who listens there: a traced process that reached LISTEN on that port.
    for (const auto& l : agg.listens()) {
      const auto& la = l.as<model::Listen>()->addr;
      if (la.port == b->addr.port && l.hdr.pid != e.hdr.pid) {
        const analysis::Process* h = agg.process(l.hdr.pid);
        f.facts.push_back("held by " + (h ? describe_process(*h) : l.hdr.comm + " (pid " + std::to_string(l.hdr.pid) + ")") +
                          ", listening on " + la.to_string());
      }
    }
    // Not traced (an old instance, another service): who listens there now.
    if (f.facts.empty())
      for (const auto& h : agg.port_holders(b->addr.port)) {
        if (h.pid == e.hdr.pid || agg.descends_from(h.pid, e.hdr.pid) || f.facts.size() >= 3) continue;
        std::string cmd;
        for (std::size_t i = 0; i < h.argv.size() && i < 6; ++i) cmd += (cmd.empty() ? "" : " ") + h.argv[i];
        f.facts.push_back("held by " + (h.comm.empty() ? std::string("a process") : h.comm) + " (pid " +
                          std::to_string(h.pid) + "), listening on port " + std::to_string(b->addr.port) +
                          (cmd.empty() ? std::string() : ": " + cmd));
      }
    std::string holder = f.facts.empty() ? "another process" : f.facts.front().substr(8);
    f.explanation = "Another socket is bound to " + addr + " (" + holder +
                    "). gunicorn retries 5 times a second apart, then exits 1 (\"Can't connect to\"). Common "
                    "causes: the old instance is still running (a restart that did not wait for the stop), "
                    "two units or a supervisor and a unit starting the same app, or an app that calls "
                    "app.run() at import time.";
    f.fix = "find the holder with: ss -ltnp 'sport = :" + std::to_string(b->addr.port) +
            "'; stop it, or bind the service to another port";
  }
  std::vector<Finding> out;
  for (auto& [addr, f] : by_addr) {
    f.facts.push_back("bind attempts seen: " + std::to_string(f.evidence.size()));
    out.push_back(std::move(f));
  }
  return out;
}

PM_RULE(address_in_use, "address-in-use", Severity::failure, rank::port, {CheckId::bind})

}  // namespace pm::rules
