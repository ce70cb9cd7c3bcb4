#include "watch/config.h"

#include <sys/stat.h>

#include <toml++/toml.h>

#include "util/strings.h"

namespace pm::watch {
namespace {

std::string where(const std::string& source, const toml::node& n) {
  return source + ":" + std::to_string(n.source().begin.line);
}

Result<void> strings(const std::string& source, const toml::node& n, const std::string& key,
                     std::vector<std::string>& out) {
  const auto* arr = n.as_array();
  if (!arr) return make_error(where(source, n) + ": " + key + " must be a list of strings, e.g. [\"gunicorn\"]");
  out.clear();
  for (const auto& v : *arr) {
    auto s = v.value<std::string>();
    if (!s || s->empty()) return make_error(where(source, v) + ": " + key + " must hold non-empty strings");
    out.push_back(*s);
  }
  return {};
}

}  // namespace

Result<void> parse_config(const std::string& text, const std::string& source, Config& cfg) {
  toml::table t;
  try {
    t = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    auto text_of = [&](std::string& out) -> Result<void> {
      auto s = v.value<std::string>();
      if (!s) return make_error(where(source, v) + ": " + key + " must be a string");
      out = *s;
      return {};
    };
    Result<void> r;
    if (key == "units") r = strings(source, v, key, cfg.units);
    else if (key == "names") r = strings(source, v, key, cfg.names);
    else if (key == "incidents") r = text_of(cfg.incidents);
    else if (key == "metrics") r = text_of(cfg.metrics);
    else if (key == "record_dir") r = text_of(cfg.record_dir);
    else if (key == "window") r = text_of(cfg.window);
    else if (key == "restart_window") r = text_of(cfg.restart_window);
    else if (key == "metrics_interval") r = text_of(cfg.metrics_interval);
    else if (key == "settle") r = text_of(cfg.settle);
    else if (key == "restart_limit") {
      auto n = v.is_integer() ? v.value<std::int64_t>() : std::nullopt;  // not a boolean, not a float
      if (!n || *n < 1 || *n > 1000000) r = make_error(where(source, v) + ": restart_limit must be a whole number from 1");
      else cfg.restart_limit = static_cast<unsigned>(*n);
    } else {
      r = make_error(where(source, v) + ": unknown key '" + key +
                     "' (known: units, names, incidents, metrics, record_dir, window, restart_limit, restart_window, "
                     "metrics_interval, settle)");
    }
    if (!r) return r;
  }
  return {};
}

Result<void> load_config(const std::string& path, Config& cfg, bool optional) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (optional && errno == ENOENT) return {};
    return errno_error("cannot read the watch configuration " + path);
  }
  if (!S_ISREG(st.st_mode)) return make_error("the watch configuration " + path + " is not a regular file");
  auto text = read_file(path);
  if (!text) return errno_error("cannot read the watch configuration " + path);
  return parse_config(*text, path, cfg);
}

}  // namespace pm::watch
