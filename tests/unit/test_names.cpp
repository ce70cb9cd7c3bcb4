// model/names.h: names for signal numbers, errnos, open flags and TCP states.
#include <fcntl.h>
#include <signal.h>

#include <catch2/catch.hpp>

#include "model/event.h"
#include "model/names.h"

using namespace pm::model;

TEST_CASE("signal_name: standard, real-time and invalid signals", "[names]") {
  CHECK(signal_name(1) == "SIGHUP");
  CHECK(signal_name(2) == "SIGINT");
  CHECK(signal_name(6) == "SIGABRT");
  CHECK(signal_name(9) == "SIGKILL");
  CHECK(signal_name(11) == "SIGSEGV");
  CHECK(signal_name(15) == "SIGTERM");
  CHECK(signal_name(17) == "SIGCHLD");
  CHECK(signal_name(SIGRTMIN) == "SIGRTMIN+0");
  CHECK(signal_name(SIGRTMIN + 3) == "SIGRTMIN+3");
  CHECK(signal_name(0) == "SIG0");
  CHECK(signal_name(-1) == "SIG-1");
  CHECK(signal_name(200) == "SIG200");
}

TEST_CASE("errno_name: symbolic names, numbers when unknown", "[names]") {
  CHECK(errno_name(1) == "EPERM");
  CHECK(errno_name(2) == "ENOENT");
  CHECK(errno_name(13) == "EACCES");
  CHECK(errno_name(98) == "EADDRINUSE");
  CHECK(errno_name(111) == "ECONNREFUSED");
  CHECK(errno_name(110) == "ETIMEDOUT");
  CHECK(errno_name(9999) == "E9999");
}

TEST_CASE("open_flags: access mode first, then the set bits in a fixed order", "[names]") {
  CHECK(open_flags(O_WRONLY | O_CREAT | O_APPEND) == "O_WRONLY|O_CREAT|O_APPEND");
  CHECK(open_flags(O_APPEND | O_CREAT | O_WRONLY) == "O_WRONLY|O_CREAT|O_APPEND");
  CHECK(open_flags(0) == "O_RDONLY");
  CHECK(open_flags(O_RDWR | O_CREAT | O_EXCL) == "O_RDWR|O_CREAT|O_EXCL");
  CHECK(open_flags(O_WRONLY | O_TRUNC | O_CLOEXEC) == "O_WRONLY|O_TRUNC|O_CLOEXEC");
  CHECK(open_flags(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) == "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC");
  CHECK(open_flags(O_PATH) == "O_RDONLY|O_PATH");
  CHECK(open_flags(O_RDONLY | O_NONBLOCK | O_NOCTTY) == "O_RDONLY|O_NOCTTY|O_NONBLOCK");
  CHECK(open_flags(O_ACCMODE) == "O_ACCMODE");
}

TEST_CASE("tcp_state_name: the kernel's TCP states", "[names]") {
  CHECK(tcp_state_name(1) == "ESTABLISHED");
  CHECK(tcp_state_name(2) == "SYN_SENT");
  CHECK(tcp_state_name(7) == "CLOSE");
  CHECK(tcp_state_name(10) == "LISTEN");
  CHECK(tcp_state_name(12) == "NEW_SYN_RECV");
  CHECK(tcp_state_name(0) == "STATE0");
  CHECK(tcp_state_name(13) == "STATE13");
  CHECK(tcp_state_name(-1) == "STATE-1");
}

TEST_CASE("si_code_name and type names", "[names]") {
  CHECK(si_code_name(0) == "SI_USER");
  CHECK(si_code_name(0x80) == "SI_KERNEL");
  CHECK(si_code_name(-6) == "SI_TKILL");
  CHECK(si_code_name(3) == "3");

  CHECK(std::string(type_name(EventType::open_failed)) == "open_failed");
  CHECK(std::string(type_name(EventType::cgroup_adopt)) == "cgroup_adopt");
  CHECK(std::string(type_name(static_cast<EventType>(0))) == "unknown");
  EventType t{};
  REQUIRE(type_from_name("signal_generate", t));
  CHECK(t == EventType::signal_generate);
  CHECK_FALSE(type_from_name("open", t));
}
