// Recordings (.pmt): gzip-compressed JSON lines, so a failure captured on one
// machine can be explained on another (`pmtrace explain`).
//
//   {"type":"header","format":"pmtrace-recording","schema":1,...}   always first
//   {"type":"exec",...}            one event a line (model::to_json, redacted)
//   {"type":"fact","kind":...}     what pmtrace read of the machine (file owners,
//                                  memory limits, the database it is configured with)
//   {"type":"lost",...}            the loss counters so far, when they change
//   {"type":"end",...}             the trailer: end time, reason, final losses
//
// The writer flushes at most a second after an event arrives (a sync flush of
// the gzip stream and fdatasync), so a crash of pmtrace or of the machine
// loses at most the last second; the reader reads what a cut stream holds.
// The reader streams: memory stays flat whatever the size of the recording.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/decode.h"
#include "model/event.h"
#include "model/losses.h"
#include "util/result.h"

namespace pm::record {

inline constexpr int kSchema = 1;
inline constexpr const char* kFormat = "pmtrace-recording";
// No line of ours comes near this; a longer one is damage (or an attack).
inline constexpr std::size_t kMaxLine = 1 << 20;

struct Header {
  int schema = kSchema;
  // The event wire version (model::kWireVersion) of the pmtrace that captured
  // it; recordings from before the field existed are version 1.
  int wire_version = model::kWireVersion;
  std::string pmtrace_version;
  std::string host, kernel;  // uname: nodename, release
  std::string backend, mode, target;
  std::uint64_t start_ns = 0;         // CLOCK_MONOTONIC of the capturing machine
  std::int64_t clock_offset_ns = 0;   // its CLOCK_REALTIME - CLOCK_MONOTONIC
  bool redacted = true;               // false: captured with --no-redact
};

struct Trailer {
  std::uint64_t end_ns = 0;
  std::uint64_t events = 0;
  std::string end_reason;
  model::Losses losses;
  std::vector<std::string> notes;
};

nlohmann::json to_json(const Header& h);
nlohmann::json to_json(const Trailer& t);

class Writer {
 public:
  // Creates `path` 0600, never through a symlink, truncating an old recording.
  static Result<std::unique_ptr<Writer>> create(const std::string& path);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void header(const Header& h);
  void event(const model::Event& e);
  void fact(const nlohmann::json& f);
  // Remembers the counters; written with the next flush when they changed.
  void losses(const model::Losses& l);
  // Flushes when the last flush is older than a second (call it often).
  void maybe_flush(std::uint64_t now_ns);
  // Writes the trailer and closes the file.
  Result<void> finish(const Trailer& t);

  // The first write error, if any (the capture goes on without the recording).
  const std::optional<std::string>& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  Writer(gzFile gz, int fd, std::string path) : gz_(gz), fd_(fd), path_(std::move(path)) {}
  void line(const nlohmann::json& j);  // redacted, one line
  void flush();

  gzFile gz_ = nullptr;
  int fd_ = -1;
  std::string path_;
  std::optional<std::string> error_;
  std::uint64_t last_flush_ns_ = 0;
  bool dirty_ = false;
  std::optional<model::Losses> losses_, losses_written_;
};

// One record of a recording, in file order.
struct Item {
  enum class Kind { event, fact, end_of_file };
  Kind kind = Kind::end_of_file;
  model::Event event;
  nlohmann::json fact;
};

class Reader {
 public:
  // Opens `path` (gzip, or the same lines uncompressed) and reads its header;
  // an error says in one line why it is not a recording this pmtrace reads.
  static Result<std::unique_ptr<Reader>> open(const std::string& path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const Header& header() const { return header_; }

  // The next event or fact. Unknown record types (from a newer pmtrace) are
  // skipped and counted; malformed lines are skipped and counted, the first
  // one kept with its line number. A damaged stream ends the items.
  Item next();

  std::uint64_t unknown() const { return unknown_; }
  std::uint64_t malformed() const { return malformed_; }
  const std::string& first_malformed() const { return first_malformed_; }
  // Why the stream ended before its trailer: "truncated ...", "corrupt ...".
  const std::optional<std::string>& damage() const { return damage_; }
  const std::optional<Trailer>& trailer() const { return trailer_; }
  // The last loss counters recorded (the trailer's, or the last "lost" line).
  const model::Losses& losses() const { return losses_; }
  std::uint64_t line_number() const { return line_no_; }
  // Counts the current line as malformed (a consumer found it so, e.g. a fact).
  void reject(const std::string& why);

 private:
  Reader(gzFile gz, std::string path) : gz_(gz), path_(std::move(path)) {}
  // The next line without its newline; false at the end of the stream.
  bool read_line(std::string& out);
  void reject_line(std::uint64_t line, const std::string& why);

  gzFile gz_ = nullptr;
  std::string path_;
  Header header_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  bool skip_long_ = false;  // inside a line longer than kMaxLine
  std::uint64_t line_no_ = 0;
  std::uint64_t unknown_ = 0, malformed_ = 0;
  std::string first_malformed_;
  std::optional<std::string> damage_;
  std::optional<Trailer> trailer_;
  model::Losses losses_;
};

}  // namespace pm::record
