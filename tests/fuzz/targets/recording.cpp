// record/recording.h Reader: any bytes as a recording file (gzip or plain
// JSON lines), read the way `pmtrace explain` reads it: every item, facts
// applied to an investigation, events fed to it, and its conclusion drawn at
// the end (rules, story, verdict).
// Nothing may crash, hang or grow without bound; what the reader counts must
// add up.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "investigation/investigation.h"
#include "check.h"
#include "model/event.h"
#include "record/facts.h"
#include "record/recording.h"
#include "rules/finding.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int fd = ::memfd_create("pmtrace-fuzz-recording", MFD_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto reader = pm::record::Reader::open(path);
  if (!reader) {
    PM_FUZZ_CHECK(!reader.error().message.empty());
    ::close(fd);
    return 0;
  }
  pm::investigation::Investigation inv(false);
  std::uint64_t events = 0, items = 0;
  for (;;) {
    auto item = (*reader)->next();
    if (item.kind == pm::record::Item::Kind::end_of_file) break;
    ++items;
    PM_FUZZ_CHECK(items <= size + 1);  // every item is at least one line
    if (item.kind == pm::record::Item::Kind::fact) {
      std::string why;
      if (!inv.apply_fact(item.fact, &why)) {
        PM_FUZZ_CHECK(!why.empty());
        (*reader)->reject(why);
      }
    } else {
      PM_FUZZ_CHECK(pm::model::consistent(item.event));
      inv.on_event(item.event);
      ++events;
    }
  }
  PM_FUZZ_CHECK((*reader)->malformed() == 0 || !(*reader)->first_malformed().empty());
  PM_FUZZ_CHECK((*reader)->line_number() <= size + 1);
  (void)inv.summarize(inv.aggregator().end_ns());
  ::close(fd);
  return 0;
}
