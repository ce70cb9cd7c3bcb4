#include "sources/replay_source.h"

namespace pm::sources {

Result<int> ReplaySource::poll(int, const EventFn& fn) {
  // A bounded batch, so a stop request is seen between batches.
  int n = 0;
  for (; n < 4096 && !done_; ++n) {
    auto item = reader_->next();
    switch (item.kind) {
      case record::Item::Kind::end_of_file:
        done_ = true;
        break;
      case record::Item::Kind::fact: {
        std::string why;
        if (on_fact_ && !on_fact_(item.fact, &why)) reader_->reject(why);
        break;
      }
      case record::Item::Kind::event:
        last_ns_ = std::max(last_ns_, item.event.hdr.ts_ns);
        fn(std::move(item.event));
        break;
    }
  }
  return n;
}

model::Losses ReplaySource::losses() const {
  model::Losses l = reader_->losses();
  l.malformed += reader_->malformed();
  l.unknown += reader_->unknown();
  return l;
}

std::vector<std::string> ReplaySource::notes() const {
  std::vector<std::string> out;
  if (const auto& t = reader_->trailer()) out = t->notes;
  const auto& h = reader_->header();
  out.push_back("explained from a recording made on " + (h.host.empty() ? std::string("an unnamed host") : h.host) +
                (h.kernel.empty() ? "" : " (kernel " + h.kernel + ")") + " by pmtrace " + h.pmtrace_version);
  if (reader_->unknown())
    out.push_back(std::to_string(reader_->unknown()) +
                  " records of types this pmtrace does not know were skipped (recorded by a newer version)");
  if (auto p = problem()) out.push_back("the recording is damaged: " + *p);
  return out;
}

std::optional<std::uint64_t> ReplaySource::end_ns() const {
  if (const auto& t = reader_->trailer(); t && t->end_ns) return t->end_ns;
  return std::max(last_ns_, reader_->header().start_ns);
}

std::optional<std::string> ReplaySource::problem() const {
  std::string p;
  if (const auto& d = reader_->damage()) p = *d;
  if (reader_->malformed())
    p += (p.empty() ? "" : "; ") + std::to_string(reader_->malformed()) + " malformed lines skipped (the first: " +
         reader_->first_malformed() + ")";
  if (p.empty() && !reader_->trailer() && done_) p = "it has no end record (pmtrace or the machine stopped during the capture)";
  if (p.empty()) return std::nullopt;
  return p;
}

}  // namespace pm::sources
