#include "record/recording.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "model/clock.h"
#include "model/event_json.h"
#include "model/json_fields.h"
#include "util/redact.h"

namespace pm::record {

using nlohmann::json;

namespace {
constexpr std::uint64_t kFlushEveryNs = 1000000000ull;
constexpr unsigned kReadChunk = 64 * 1024;

std::string gz_message(gzFile gz) {
  int errnum = 0;
  const char* msg = gzerror(gz, &errnum);
  if (errnum == Z_ERRNO) return std::strerror(errno);
  return msg && *msg ? msg : "unknown zlib error";
}
}  // namespace

json to_json(const Header& h) {
  return {{"type", "header"},
          {"format", kFormat},
          {"schema", h.schema},
          {"wire_version", h.wire_version},
          {"pmtrace_version", h.pmtrace_version},
          {"host", h.host},
          {"kernel", h.kernel},
          {"backend", h.backend},
          {"mode", h.mode},
          {"target", h.target},
          {"start_ns", h.start_ns},
          {"start_time", model::Clock(h.clock_offset_ns).to_iso8601(h.start_ns)},
          {"clock_offset_ns", h.clock_offset_ns},
          {"redacted", h.redacted}};
}

json to_json(const Trailer& t) {
  return {{"type", "end"},         {"end_ns", t.end_ns}, {"events", t.events},
          {"end_reason", t.end_reason}, {"lost", model::to_json(t.losses)}, {"notes", t.notes}};
}

// ---------------------------------------------------------------- writing

Result<std::unique_ptr<Writer>> Writer::create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP)
      return cannot_trace_error("cannot write the recording " + path + ": it is a symlink (pmtrace never writes through one)");
    return cannot_trace_errno("cannot create the recording " + path);
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return cannot_trace_error("cannot write the recording " + path + ": not a regular file");
  }
  // An existing file keeps its mode through O_TRUNC: make it private again.
  if (::fchmod(fd, 0600) != 0) {
    int err = errno;
    ::close(fd);
    return cannot_trace_errno("cannot make the recording " + path + " private (0600)", err);
  }
  int gzfd = ::dup(fd);  // gzclose closes its own descriptor; fd stays for fdatasync
  gzFile gz = gzfd < 0 ? nullptr : gzdopen(gzfd, "wb1");  // fast: compression must not slow the capture
  if (!gz) {
    if (gzfd >= 0) ::close(gzfd);
    ::close(fd);
    return cannot_trace_error("cannot start compressing the recording " + path);
  }
  gzbuffer(gz, 128 * 1024);
  return std::unique_ptr<Writer>(new Writer(gz, fd, path));
}

Writer::~Writer() {
  if (gz_) {
    gzflush(gz_, Z_SYNC_FLUSH);
    gzclose(gz_);
  }
  if (fd_ >= 0) ::close(fd_);
}

void Writer::line(const json& in) {
  if (!gz_ || error_) return;
  json j = in;
  redact_json(j);
  std::string text = model::dump_line(j);
  text += '\n';
  if (gzwrite(gz_, text.data(), static_cast<unsigned>(text.size())) != static_cast<int>(text.size()))
    error_ = "writing the recording " + path_ + " failed: " + gz_message(gz_);
  dirty_ = true;
}

void Writer::header(const Header& h) {
  line(to_json(h));
  flush();
}

void Writer::event(const model::Event& e) { line(model::to_json(e)); }

void Writer::fact(const json& f) {
  json j = f;
  j["type"] = "fact";
  line(j);
}

void Writer::losses(const model::Losses& l) { losses_ = l; }

void Writer::flush() {
  if (!gz_ || error_) return;
  if (losses_ && (!losses_written_ || losses_->ring_full != losses_written_->ring_full ||
                  losses_->total() != losses_written_->total())) {
    json j = model::to_json(*losses_);
    j["type"] = "lost";
    line(j);
    losses_written_ = losses_;
  }
  if (!dirty_) return;
  if (gzflush(gz_, Z_SYNC_FLUSH) != Z_OK) {
    error_ = "writing the recording " + path_ + " failed: " + gz_message(gz_);
    return;
  }
  ::fdatasync(fd_);  // the machine may crash too
  dirty_ = false;
}

void Writer::maybe_flush(std::uint64_t now_ns) {
  if (now_ns - last_flush_ns_ < kFlushEveryNs) return;
  last_flush_ns_ = now_ns;
  flush();
}

Result<void> Writer::finish(const Trailer& t) {
  losses_ = t.losses;
  losses_written_ = t.losses;  // the trailer says it
  line(to_json(t));
  if (gz_) {
    int rc = gzclose(gz_);
    gz_ = nullptr;
    if (rc != Z_OK && !error_) error_ = "closing the recording " + path_ + " failed";
  }
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  if (error_) return cannot_trace_error(*error_);
  return {};
}

// ---------------------------------------------------------------- reading

Result<std::unique_ptr<Reader>> Reader::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error("no such recording: " + path);
    return errno_error("cannot read the recording " + path);
  }
  struct stat st{};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return make_error(path + " is a directory, not a recording");
  }
  gzFile gz = gzdopen(fd, "rb");
  if (!gz) {
    ::close(fd);
    return cannot_trace_error("cannot read the recording " + path + ": out of memory");
  }
  gzbuffer(gz, 128 * 1024);
  std::unique_ptr<Reader> r(new Reader(gz, path));

  std::string first;
  bool got = r->read_line(first);
  if (!got) {
    if (r->skip_long_) return damaged_input_error(path + " is not a pmtrace recording (its first line is not a header)");
    if (r->damage_) return damaged_input_error(path + " is not a readable pmtrace recording: " + *r->damage_);
    return damaged_input_error(path + " is empty: not a pmtrace recording");
  }
  json h = json::parse(first, nullptr, false);
  model::JsonFields f(h);
  std::string type, format;
  f.str("type", type);
  f.str("format", format);
  if (h.is_discarded() || !f.ok() || type != "header" || format != kFormat)
    return damaged_input_error(path + " is not a pmtrace recording (its first line is not a pmtrace header)");
  Header& hd = r->header_;
  f.num("schema", hd.schema);
  if (!f.ok() || hd.schema < 1) return damaged_input_error(path + ": the recording header has no valid schema version");
  if (hd.schema > kSchema)
    return damaged_input_error(path + " was written by a newer pmtrace (recording schema " + std::to_string(hd.schema) +
                      "; this pmtrace reads schema " + std::to_string(kSchema) + "): explain it with that version");
  hd.wire_version = 1;
  f.num("wire_version", hd.wire_version, false);
  if (!f.ok() || hd.wire_version < 1) return damaged_input_error(path + ": the recording header has no valid wire version");
  if (hd.wire_version > model::kWireVersion)
    return damaged_input_error(path + " holds events of a newer pmtrace (wire version " + std::to_string(hd.wire_version) +
                      "; this pmtrace knows version " + std::to_string(model::kWireVersion) +
                      "): explain it with that version");
  f.str("pmtrace_version", hd.pmtrace_version, false);
  f.str("host", hd.host, false);
  f.str("kernel", hd.kernel, false);
  f.str("backend", hd.backend, false);
  f.str("mode", hd.mode, false);
  f.str("target", hd.target, false);
  f.num("start_ns", hd.start_ns, false);
  f.num("clock_offset_ns", hd.clock_offset_ns, false);
  f.boolean("redacted", hd.redacted, false);
  if (!f.ok()) return damaged_input_error(path + ": the recording header is malformed (" + f.why() + ")");
  return r;
}

Reader::~Reader() {
  if (gz_) gzclose(gz_);
}

bool Reader::read_line(std::string& out) {
  for (;;) {
    auto nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      ++line_no_;
      bool was_skipping = skip_long_;
      skip_long_ = false;
      if (was_skipping) {  // the end of an overlong line: dropped, already counted
        pos_ = nl + 1;
        continue;
      }
      out.assign(buf_, pos_, nl - pos_);
      pos_ = nl + 1;
      return true;
    }
    if (buf_.size() - pos_ > kMaxLine) {
      // No newline in sight: drop what we have and read on to the next one.
      if (!skip_long_) {
        skip_long_ = true;
        return false;
      }
      pos_ = buf_.size();
    }
    if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    if (eof_) {
      if (pos_ < buf_.size() && !skip_long_ && !damage_)
        damage_ = "truncated: line " + std::to_string(line_no_ + 1) + " is cut off";
      pos_ = buf_.size();
      skip_long_ = false;
      return false;
    }
    char chunk[kReadChunk];
    int n = gzread(gz_, chunk, sizeof chunk);
    if (n > 0) {
      buf_.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    eof_ = true;
    // zlib ends a cut stream like a whole one (0) but leaves Z_BUF_ERROR.
    int errnum = 0;
    gzerror(gz_, &errnum);
    std::string after = " after line " + std::to_string(line_no_);
    if (errnum == Z_BUF_ERROR)
      damage_ = "truncated" + after + " (the compressed stream is cut off)";
    else if (n < 0 || errnum != Z_OK)
      damage_ = "corrupt" + after + " (" + gz_message(gz_) + ")";
  }
}

void Reader::reject(const std::string& why) { reject_line(line_no_, why); }

void Reader::reject_line(std::uint64_t line, const std::string& why) {
  ++malformed_;
  if (first_malformed_.empty()) first_malformed_ = "line " + std::to_string(line) + ": " + why;
}

Item Reader::next() {
  std::string text;
  for (;;) {
    if (!read_line(text)) {
      if (skip_long_) {  // its newline, if any, is skipped later
        reject_line(line_no_ + 1, "longer than " + std::to_string(kMaxLine) + " bytes");
        continue;
      }
      return Item{};
    }
    if (text.empty()) continue;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      reject("not a JSON object");
      continue;
    }
    auto t = j.find("type");
    if (t == j.end() || !t->is_string()) {
      reject("no record type");
      continue;
    }
    const std::string& type = t->get_ref<const std::string&>();
    if (type == "fact") {
      Item it;
      it.kind = Item::Kind::fact;
      it.fact = std::move(j);
      return it;
    }
    if (type == "lost" || type == "end") {
      auto l = model::losses_from_json(type == "end" ? (j.contains("lost") ? j["lost"] : json::object()) : j);
      if (!l) {
        reject("malformed loss counters");
        continue;
      }
      losses_ = *l;
      if (type == "end") {
        Trailer tr;
        model::JsonFields f(j);
        f.num("end_ns", tr.end_ns, false);
        f.num("events", tr.events, false);
        f.str("end_reason", tr.end_reason, false);
        f.strings("notes", tr.notes, false);
        if (!f.ok()) {
          reject("malformed trailer: " + f.why());
          continue;
        }
        tr.losses = *l;
        trailer_ = std::move(tr);
      }
      continue;
    }
    if (type == "header") {
      reject("a second header");
      continue;
    }
    model::EventType et{};
    if (!model::type_from_name(type, et)) {
      ++unknown_;  // a newer pmtrace's record: skipped, counted
      continue;
    }
    std::string why;
    auto e = model::event_from_json(j, &why);
    if (!e) {
      reject(why);
      continue;
    }
    Item it;
    it.kind = Item::Kind::event;
    it.event = std::move(*e);
    return it;
  }
}

}  // namespace pm::record
