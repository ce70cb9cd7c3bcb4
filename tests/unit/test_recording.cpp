// record/: recordings written and read back (events, facts, losses, trailer),
// and everything a damaged or hostile recording can do to the reader.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "model/event_json.h"
#include "model/names.h"
#include "record/facts.h"
#include "record/recording.h"
#include "synthetic.h"
#include "tmpdir.h"
#include "util/redact.h"

using namespace pm;
using namespace pm::model;
using nlohmann::json;

namespace {

struct Dir : pmtest::TmpDir {
  Dir() : TmpDir("pm-rec") {}
};

// One event of every type, every field set to something not the default.
std::vector<Event> one_of_each() {
  std::vector<Event> v;
  auto add = [&](EventType t, Payload p) {
    Event e = pmtest::event(t, 4000 + static_cast<std::uint32_t>(v.size()), std::move(p), 1000000000ull + v.size());
    e.hdr.tid = e.hdr.pid + 1;
    e.hdr.ppid = 1;
    e.hdr.uid = 33;
    e.hdr.gid = 34;
    e.hdr.cgroup_id = 9876543210ull;
    e.hdr.truncated = v.size() % 2;
    e.hdr.adopted = v.size() % 3 == 0;
    v.push_back(std::move(e));
  };
  SockAddr in4{AF_INET, "127.0.0.1", 5432, ""};
  SockAddr in6{AF_INET6, "::1", 8000, ""};
  SockAddr un{AF_UNIX, "", 0, "/var/run/postgresql/.s.PGSQL.5432"};
  add(EventType::exec, Exec{"/usr/bin/python3", "/usr/bin/python3.11", {"gunicorn", "-b", "127.0.0.1:8000", "app:app"}, 77});
  add(EventType::exec_failed, ExecFailed{"/srv/venv/bin/gunicorn", ENOENT});
  add(EventType::fork, Fork{4100});
  add(EventType::exit, Exit{(3 << 8), 999});
  add(EventType::exit, Exit{9 | 0x80, 998});
  SignalGenerate g;
  g.sig = 15; g.code = 0; g.err = 0; g.result = 0; g.target_pid = 42; g.target_tid = 43; g.target_comm = "gunicorn";
  g.group = true; g.from_kernel = false; g.sender_pid = 1;
  add(EventType::signal_generate, g);
  SignalDeliver d;
  d.sig = 6; d.code = -6; d.err = 0; d.sender_pid = 42; d.sender_uid = 33; d.handler = 2;
  d.syscall_nr = 42; d.syscall_fd = 5; d.syscall_ret = -512;
  add(EventType::signal_deliver, d);
  add(EventType::open_failed, OpenFailed{"/var/log/app/error.log", -100, EACCES, 02000101 | 0100000, 0644, true});
  add(EventType::connect, Connect{7, EINPROGRESS, 1500, in4});
  add(EventType::tcp_connect, TcpConnect{2, 7, 3000000000ull, in6});
  add(EventType::bind, Bind{3, EADDRINUSE, in6});
  add(EventType::listen, Listen{in4});
  add(EventType::write, Write{2, 100000, "Traceback (most recent call last):\n", "\nModuleNotFoundError: No module named 'x'\n"});
  add(EventType::oom_victim, OomVictim{4242, 33, 123456, "gunicorn"});
  add(EventType::cgroup_adopt, CgroupAdopt{555, 3, "/system.slice/meats.service"});
  add(EventType::chdir_failed, ChdirFailed{"/srv/gone", ENOENT});
  add(EventType::milestone, Milestone{MilestoneKind::accept, 9, in4});
  add(EventType::connect, Connect{8, 0, 0, un});
  return v;
}

std::string gz_text(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[4096];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(g);
  return out;
}

void write_gz(const std::string& path, const std::string& text) {
  gzFile g = gzopen(path.c_str(), "wb");
  gzwrite(g, text.data(), static_cast<unsigned>(text.size()));
  gzclose(g);
}

std::string header_line(int schema = record::kSchema, int wire = pm::model::kWireVersion) {
  record::Header h;
  h.schema = schema;
  h.wire_version = wire;
  h.mode = "run";
  h.target = "gunicorn app:app";
  h.backend = "bpf";
  h.start_ns = 1000;
  return dump_line(record::to_json(h)) + "\n";
}

std::string event_line(const Event& e) { return dump_line(to_json(e)) + "\n"; }

// Reads every item; returns the events.
std::vector<Event> read_all(record::Reader& r, std::vector<json>* facts = nullptr) {
  std::vector<Event> out;
  for (;;) {
    auto it = r.next();
    if (it.kind == record::Item::Kind::end_of_file) break;
    if (it.kind == record::Item::Kind::event) out.push_back(std::move(it.event));
    if (it.kind == record::Item::Kind::fact && facts) facts->push_back(it.fact);
  }
  return out;
}

}  // namespace

TEST_CASE("names: every name turns back into its number", "[record][names]") {
  for (int sig = 1; sig <= 64; ++sig) {
    int back = 0;
    REQUIRE(signal_from_name(signal_name(sig), back));
    CHECK(back == sig);
  }
  for (int err = 0; err < 600; ++err) {
    int back = -1;
    REQUIRE(errno_from_name(err ? errno_name(err) : "", back));
    CHECK(back == err);
  }
  for (int st = 1; st <= 13; ++st) {
    int back = 0;
    REQUIRE(tcp_state_from_name(tcp_state_name(st), back));
    CHECK(back == st);
  }
  for (int code : {-60, -6, -1, 0, 1, 5, 127, 128}) {
    int back = 99;
    REQUIRE(si_code_from_name(si_code_name(code), back));
    CHECK(back == code);
  }
  for (int nr = -1; nr < 460; ++nr) {
    int back = 0;
    REQUIRE(syscall_from_name(syscall_name(nr), back));
    CHECK(back == nr);
  }
  for (std::uint64_t flags : {0ull, 1ull, 2ull, 3ull, 0101ull, 02000101ull, 0100000ull | 01ull, 010000000ull, 04010000ull,
                              0x12345678ull}) {
    std::uint64_t back = 7;
    INFO(open_flags(flags));
    REQUIRE(open_flags_from_names(open_flags(flags), back));
    CHECK(back == flags);
  }
  int x;
  std::uint64_t f;
  CHECK_FALSE(signal_from_name("SIGNOPE", x));
  CHECK_FALSE(errno_from_name("EBOGUS", x));
  CHECK_FALSE(open_flags_from_names("O_WRONLY|O_BOGUS", f));
  CHECK_FALSE(open_flags_from_names("", f));
  CHECK_FALSE(open_flags_from_names("O_RDONLY|0xzz", f));
  CHECK_FALSE(syscall_from_name("syscall 99999999999", x));
}

TEST_CASE("event_from_json: every event type survives to_json and back", "[record]") {
  for (const auto& e : one_of_each()) {
    json j = to_json(e);
    std::string why;
    auto back = event_from_json(j, &why);
    INFO(j.dump() << " " << why);
    REQUIRE(back);
    CHECK(consistent(*back));
    CHECK(to_json(*back) == j);
  }
}

TEST_CASE("event_from_json: missing, mistyped and out-of-range fields are refused with a reason", "[record]") {
  json ok = to_json(one_of_each()[7]);  // open_failed
  REQUIRE(event_from_json(ok));
  auto why_of = [](json j) {
    std::string why;
    CHECK_FALSE(event_from_json(j, &why));
    return why;
  };
  json j = ok;
  j.erase("ts_ns");
  CHECK(why_of(j) == "open_failed: no ts_ns");
  j = ok;
  j["pid"] = -1;
  CHECK(why_of(j).find("pid out of range") != std::string::npos);
  j = ok;
  j["pid"] = 1ull << 40;
  CHECK(why_of(j).find("pid out of range") != std::string::npos);
  j = ok;
  j["path"] = 5;
  CHECK(why_of(j) == "open_failed: path is not a string");
  j = ok;
  j["errno"] = "EWHAT";
  CHECK(why_of(j).find("not a known name") != std::string::npos);
  j = ok;
  j["type"] = "time_travel";
  CHECK(why_of(j).find("unknown event type") != std::string::npos);
  CHECK(why_of(json::array({1, 2})) == "not an object");
  CHECK(why_of(json("exec")) == "not an object");
  j = to_json(one_of_each()[0]);
  j["argv"] = json::array({"a", 1});
  CHECK(why_of(j) == "exec: argv holds a non-string");
  j = to_json(one_of_each()[3]);  // exit
  j["exit_code"] = 256;
  CHECK(why_of(j).find("exit_code out of range") != std::string::npos);
}

TEST_CASE("recording: header, events, facts, losses and trailer read back as written", "[record]") {
  Dir d;
  auto path = d.file("a.pmt");
  auto w = record::Writer::create(path);
  REQUIRE(w);
  record::Header h;
  h.pmtrace_version = "9.9";
  h.host = "web1";
  h.kernel = "6.1.0";
  h.backend = "bpf";
  h.mode = "attach";
  h.target = "unit meats.service";
  h.start_ns = 123456789;
  h.clock_offset_ns = -42;
  (*w)->header(h);
  auto events = one_of_each();
  for (const auto& e : events) (*w)->event(e);
  (*w)->fact(record::memory_limit_fact(4000, "160M (memory.max)"));
  Losses l;
  l.ring_full[static_cast<std::size_t>(EventType::open_failed)] = 12;
  l.track_full = 1;
  (*w)->losses(l);
  (*w)->maybe_flush(5000000000ull);
  record::Trailer t{999999999, events.size(), "timeout", l, {"a note"}};
  REQUIRE((*w)->finish(t));

  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto r = record::Reader::open(path);
  REQUIRE(r);
  const auto& rh = (*r)->header();
  CHECK(rh.pmtrace_version == "9.9");
  CHECK(rh.host == "web1");
  CHECK(rh.kernel == "6.1.0");
  CHECK(rh.mode == "attach");
  CHECK(rh.target == "unit meats.service");
  CHECK(rh.start_ns == 123456789);
  CHECK(rh.clock_offset_ns == -42);
  CHECK(rh.redacted);
  std::vector<json> facts;
  auto back = read_all(**r, &facts);
  REQUIRE(back.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(to_json(back[i]) == to_json(events[i]));
  REQUIRE(facts.size() == 1);
  CHECK(facts[0]["kind"] == "memory_limit");
  REQUIRE((*r)->trailer());
  CHECK((*r)->trailer()->end_reason == "timeout");
  CHECK((*r)->trailer()->events == events.size());
  CHECK((*r)->trailer()->notes == std::vector<std::string>{"a note"});
  CHECK((*r)->losses().ring_full == l.ring_full);
  CHECK((*r)->losses().track_full == 1);
  CHECK_FALSE((*r)->damage());
  CHECK((*r)->malformed() == 0);
}

TEST_CASE("recording: created private, never through a symlink, an old file made private again", "[record]") {
  Dir d;
  auto target = d.file("elsewhere");
  std::ofstream(target) << "precious\n";
  ::symlink(target.c_str(), d.file("link.pmt").c_str());
  auto w = record::Writer::create(d.file("link.pmt"));
  REQUIRE_FALSE(w);
  CHECK(w.error().message.find("symlink") != std::string::npos);
  std::ifstream in(target);
  std::string content;
  std::getline(in, content);
  CHECK(content == "precious");

  auto old = d.file("old.pmt");
  std::ofstream(old) << "x";
  ::chmod(old.c_str(), 0644);
  REQUIRE(record::Writer::create(old));
  struct stat st{};
  ::stat(old.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0600);

  auto bad = record::Writer::create(d.file("no/such/dir.pmt"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("cannot create the recording") != std::string::npos);
}

TEST_CASE("recording: a writer that is never finished leaves what it flushed readable", "[record]") {
  Dir d;
  auto path = d.file("crash.pmt");
  auto w = record::Writer::create(path);
  REQUIRE(w);
  (*w)->header(record::Header{});
  auto events = one_of_each();
  for (const auto& e : events) (*w)->event(e);
  (*w)->maybe_flush(10000000000ull);
  // pmtrace dies here: copy the file as it is on disk now (no trailer, stream not closed).
  std::ifstream src(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  std::ofstream(d.file("copy.pmt"), std::ios::binary) << bytes;
  auto r = record::Reader::open(d.file("copy.pmt"));
  REQUIRE(r);
  CHECK(read_all(**r).size() == events.size());
  CHECK_FALSE((*r)->trailer());
  REQUIRE((*r)->damage());
  CHECK((*r)->damage()->find("truncated") == 0);
}

TEST_CASE("recording: bad files get one clear line, never a crash", "[record][hostile]") {
  Dir d;
  auto err_of = [](const std::string& path) {
    auto r = record::Reader::open(path);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(err_of(d.file("missing.pmt")) == "no such recording: " + d.file("missing.pmt"));
  CHECK(err_of(d.path).find("is a directory") != std::string::npos);
  std::ofstream(d.file("empty.pmt")).close();
  CHECK(err_of(d.file("empty.pmt")).find("is empty") != std::string::npos);
  write_gz(d.file("emptygz.pmt"), "");
  CHECK(err_of(d.file("emptygz.pmt")).find("is empty") != std::string::npos);
  std::ofstream(d.file("text.pmt")) << "hello world\nsecond line\n";
  CHECK(err_of(d.file("text.pmt")).find("is not a pmtrace recording") != std::string::npos);
  write_gz(d.file("json.pmt"), "{\"type\":\"start\",\"schema\":1}\n");
  CHECK(err_of(d.file("json.pmt")).find("is not a pmtrace recording") != std::string::npos);
  write_gz(d.file("newer.pmt"), header_line(2));
  CHECK(err_of(d.file("newer.pmt")).find("newer pmtrace (recording schema 2") != std::string::npos);
  write_gz(d.file("zero.pmt"), header_line(0));
  CHECK(err_of(d.file("zero.pmt")).find("no valid schema") != std::string::npos);
  // The wire version is written and checked: a newer one is refused by name,
  // a recording from before the field existed reads as version 1.
  CHECK(header_line().find("\"wire_version\":" + std::to_string(pm::model::kWireVersion)) != std::string::npos);
  write_gz(d.file("newwire.pmt"), header_line(record::kSchema, pm::model::kWireVersion + 1));
  CHECK(err_of(d.file("newwire.pmt")).find("newer pmtrace (wire version " +
                                           std::to_string(pm::model::kWireVersion + 1)) != std::string::npos);
  write_gz(d.file("zerowire.pmt"), header_line(record::kSchema, 0));
  CHECK(err_of(d.file("zerowire.pmt")).find("no valid wire version") != std::string::npos);
  {
    auto j = nlohmann::json::parse(header_line());
    j.erase("wire_version");
    write_gz(d.file("oldwire.pmt"), j.dump() + "\n");
    auto r = record::Reader::open(d.file("oldwire.pmt"));
    REQUIRE(r);
    CHECK((*r)->header().wire_version == 1);
  }
  // A first line of many megabytes without a newline is not read whole.
  write_gz(d.file("long.pmt"), std::string(5u << 20, '{'));
  CHECK(err_of(d.file("long.pmt")).find("is not a pmtrace recording") != std::string::npos);
  // Random bytes that are not gzip are read as text, and are not a header.
  std::string noise;
  for (int i = 0; i < 100000; ++i) noise += static_cast<char>((i * 7919) % 256);
  std::ofstream(d.file("noise.pmt"), std::ios::binary) << noise;
  CHECK(err_of(d.file("noise.pmt")).find("not a") != std::string::npos);
}

TEST_CASE("recording: damaged lines are skipped and counted, the rest still read", "[record][hostile]") {
  Dir d;
  auto events = one_of_each();
  std::string text = header_line();
  text += event_line(events[0]);
  text += "this is not json\n";
  text += "{\"type\":\"exec\",\"pid\":\"one\"}\n";
  text += "[1,2,3]\n";
  text += "{\"no_type\":1}\n";
  text += "{\"type\":\"quantum_event\",\"pid\":1}\n";  // a newer version's type
  text += "{\"type\":\"quantum_event\",\"pid\":2}\n";
  text += std::string(2u << 20, 'x') + "\n";           // an overlong line
  text += std::string(100000, '[') + "\n";             // deep nesting
  text += header_line();                               // a second header
  text += event_line(events[1]);
  write_gz(d.file("mixed.pmt"), text);
  auto r = record::Reader::open(d.file("mixed.pmt"));
  REQUIRE(r);
  auto back = read_all(**r);
  REQUIRE(back.size() == 2);
  CHECK(to_json(back[1]) == to_json(events[1]));
  CHECK((*r)->unknown() == 2);
  CHECK((*r)->malformed() == 7);
  CHECK((*r)->first_malformed() == "line 3: not a JSON object");
  CHECK_FALSE((*r)->trailer());
}

TEST_CASE("recording: a cut or corrupted gzip stream ends the items with the damage named", "[record][hostile]") {
  Dir d;
  std::string text = header_line();
  for (int i = 0; i < 2000; ++i) text += event_line(one_of_each()[i % 10]);
  write_gz(d.file("full.pmt"), text);
  std::ifstream in(d.file("full.pmt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 1000);

  std::ofstream(d.file("cut.pmt"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto r = record::Reader::open(d.file("cut.pmt"));
  REQUIRE(r);
  auto n = read_all(**r).size();
  CHECK(n > 0);
  CHECK(n < 2000);
  REQUIRE((*r)->damage());
  CHECK((*r)->damage()->find("truncated") == 0);

  std::string flipped = bytes;
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  std::ofstream(d.file("flip.pmt"), std::ios::binary) << flipped;
  auto f = record::Reader::open(d.file("flip.pmt"));
  REQUIRE(f);
  read_all(**f);
  CHECK(((*f)->damage() || (*f)->malformed() > 0));
}

TEST_CASE("recording: uncompressed JSON lines are read too", "[record]") {
  Dir d;
  std::ofstream(d.file("plain.pmt")) << header_line() << event_line(one_of_each()[2]);
  auto r = record::Reader::open(d.file("plain.pmt"));
  REQUIRE(r);
  CHECK(read_all(**r).size() == 1);
}

TEST_CASE("facts: live answers are asked once, recorded, and answer a replay alone", "[record][facts]") {
  analysis::Aggregator live;
  record::FactStore live_store;
  int asked = 0;
  std::vector<json> recorded;
  record::Lookups lookups;
  lookups.file = [&](const std::string& p) -> std::optional<analysis::FileFacts> {
    ++asked;
    if (p == "/gone") return std::nullopt;
    analysis::FileFacts f;
    f.uid = 0;
    f.gid = 33;
    f.mode = 040750;
    f.owner = "root";
    f.group = "www-data";
    return f;
  };
  lookups.path = [&](const std::string&) -> std::optional<analysis::FileFacts> {
    analysis::FileFacts f;
    f.symlink = true;
    f.link_target = "/usr/bin/python3.9";
    f.target_exists = false;
    f.shebang = "#!/srv/venv/bin/python";
    return f;
  };
  lookups.users = [](std::uint32_t id) { return id == 33 ? std::string("www-data") : std::string(); };
  live_store.install(live, lookups, [&](const json& j) { recorded.push_back(j); });
  CHECK(live.file_facts("/var/log/app")->group == "www-data");
  CHECK(live.file_facts("/var/log/app")->mode == 040750);
  CHECK_FALSE(live.file_facts("/gone"));
  CHECK_FALSE(live.file_facts("/gone"));
  CHECK(asked == 2);
  CHECK(live.path_facts("/srv/venv/bin/python")->link_target == "/usr/bin/python3.9");
  CHECK(live.user_name(33) == "www-data");
  CHECK(live.user_name(1234) == "1234");
  CHECK(recorded.size() == 5);

  analysis::Aggregator replay;
  record::FactStore replay_store;
  replay_store.install(replay);
  for (const auto& f : recorded) REQUIRE(replay_store.apply(f, replay));
  CHECK(replay.file_facts("/var/log/app")->owner == "root");
  CHECK_FALSE(replay.file_facts("/gone"));
  CHECK_FALSE(replay.path_facts("/srv/venv/bin/python")->target_exists);
  CHECK(replay.path_facts("/srv/venv/bin/python")->shebang == "#!/srv/venv/bin/python");
  CHECK(replay.user_name(33) == "www-data");
  CHECK_FALSE(replay.file_facts("/never/asked"));  // not recorded: unknown, not invented
}

TEST_CASE("facts: pushed facts reach the aggregator, malformed ones are refused", "[record][facts]") {
  analysis::Aggregator agg;
  record::FactStore store;
  agg.on_event(pmtest::event(EventType::exec, 10, Exec{"/usr/bin/gunicorn", "", {"gunicorn"}, 0}, 1));
  REQUIRE(store.apply(record::memory_limit_fact(10, "64M (memory.max)"), agg));
  CHECK(agg.memory_limit(10) == "64M (memory.max)");
  REQUIRE(store.apply(record::database_fact(SockAddr{AF_INET, "10.0.0.5", 6432, ""}, "PostgreSQL"), agg));
  std::string what;
  CHECK(agg.is_database(SockAddr{AF_INET, "10.0.0.5", 6432, ""}, &what));
  CHECK(what == "PostgreSQL");
  analysis::EnvFileInfo f;
  f.unit = "meats.service";
  f.path = "/etc/meats.env";
  f.readable = true;
  f.keys = {"DEBUG"};
  f.issues.push_back({3, "export SECRET_KEY=x", "SECRET_KEY", "export", "SECRET_KEY=x"});
  REQUIRE(store.apply(record::env_file_fact(f), agg));
  REQUIRE(agg.env_files().size() == 1);
  CHECK(agg.env_files()[0].issues[0].line == 3);
  CHECK(agg.env_files()[0].issues[0].key == "SECRET_KEY");

  std::string why;
  CHECK_FALSE(store.apply(json{{"kind", "memory_limit"}, {"pid", "x"}}, agg, &why));
  CHECK(why == "fact memory_limit: pid is not an integer");
  CHECK_FALSE(store.apply(json{{"kind", "env_file"}, {"path", "/e"}, {"issues", json::array({1})}}, agg, &why));
  CHECK_FALSE(store.apply(json::array(), agg, &why));
  CHECK(store.apply(json{{"kind", "from_the_future"}}, agg));  // ignored
}

TEST_CASE("redaction: secrets learned from environments and command lines are hidden anywhere", "[redact][record]") {
  forget_learned_secrets();
  std::string env = std::string("PATH=/usr/bin") + '\0' + "SECRET_KEY=django-insecure-k3y" + '\0' +
                    "DATABASE_URL=postgres://meats:pg-pass-9@db:5432/meats" + '\0' + "DEBUG=1" + '\0' + "PIN=12" + '\0';
  learn_secrets_from_environ(env);
  learn_secrets_from_argv({"gunicorn", "--api-token", "tok-abcdef", "app:app"});
  CHECK(redact("KeyError: 'django-insecure-k3y'") == "KeyError: '***'");
  CHECK(redact("could not connect with pg-pass-9") == "could not connect with ***");
  CHECK(redact("token tok-abcdef rejected") == "token *** rejected");
  CHECK(redact("DEBUG is 1, PATH /usr/bin") == "DEBUG is 1, PATH /usr/bin");
  learn_secret("abc");  // too short to learn: it would hide ordinary words
  CHECK(redact("abc") == "abc");

  json j = {{"argv", {"gunicorn", "--api-token", "tok-abcdef"}}, {"head", "printing django-insecure-k3y"}};
  redact_json(j);
  CHECK(j["argv"][2] == "***");
  CHECK(j["head"] == "printing ***");

  set_redaction(false);
  CHECK(redact("SECRET_KEY=django-insecure-k3y") == "SECRET_KEY=django-insecure-k3y");
  set_redaction(true);
  forget_learned_secrets();
  CHECK(redact("KeyError: 'django-insecure-k3y'") == "KeyError: 'django-insecure-k3y'");
}

TEST_CASE("recording: secrets never reach the file", "[redact][record]") {
  forget_learned_secrets();
  learn_secret("hunter2-not-named");
  Dir d;
  auto path = d.file("s.pmt");
  auto w = record::Writer::create(path);
  REQUIRE(w);
  record::Header h;
  h.target = "env SECRET_KEY=topsecret1 gunicorn app:app";
  (*w)->header(h);
  Event x = pmtest::event(EventType::exec, 1, Exec{"/usr/bin/env", "", {"env", "DB_PASSWORD=pw12345", "--password", "pw67890"}, 0}, 1);
  (*w)->event(x);
  Event wr = pmtest::event(EventType::write, 1, Write{2, 60, "DATABASE_URL=postgres://u:urlpass1@h/db hunter2-not-named", ""}, 2);
  (*w)->event(wr);
  (*w)->fact(record::env_file_fact({"u", "/e", false, true, {}, {{1, "export API_TOKEN=tok999999", "API_TOKEN", "p", "API_TOKEN=tok999999"}}}));
  REQUIRE((*w)->finish({}));
  std::string text = gz_text(path);
  for (const char* secret : {"topsecret1", "pw12345", "pw67890", "urlpass1", "hunter2-not-named", "tok999999"}) {
    INFO(secret);
    CHECK(text.find(secret) == std::string::npos);
  }
  CHECK(text.find("***") != std::string::npos);
  forget_learned_secrets();
}
