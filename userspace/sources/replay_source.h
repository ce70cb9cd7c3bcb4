// Events from a recording (.pmt), for `pmtrace explain`: the same model
// events, in the order they were captured, with the facts read at capture
// handed to whoever explains them, and the recorded losses plus what could
// not be read back counted.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "record/recording.h"
#include "sources/source.h"

namespace pm::sources {

class ReplaySource final : public Source {
 public:
  // A fact record; returns false (and why) when it is malformed.
  using FactFn = std::function<bool(const nlohmann::json& fact, std::string* why)>;

  explicit ReplaySource(std::unique_ptr<record::Reader> reader) : reader_(std::move(reader)) {}
  void set_fact_handler(FactFn fn) { on_fact_ = std::move(fn); }

  Backend backend() const override { return Backend::replay; }
  const char* name() const override { return backend_.c_str(); }
  Result<int> poll(int timeout_ms, const EventFn& fn) override;
  Result<void> track_pid(std::uint32_t) override { return {}; }
  model::Losses losses() const override;
  std::vector<std::string> notes() const override;
  std::optional<std::uint64_t> end_ns() const override;
  bool exhausted() const override { return done_; }

  const record::Reader& reader() const { return *reader_; }
  // What is wrong with the recording, in one line, if anything is.
  std::optional<std::string> problem() const;

 private:
  std::unique_ptr<record::Reader> reader_;
  std::string backend_ = reader_->header().backend.empty() ? "replay" : reader_->header().backend;
  FactFn on_fact_;
  bool done_ = false;
  std::uint64_t last_ns_ = 0;
};

}  // namespace pm::sources
