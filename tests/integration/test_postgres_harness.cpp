// Checks the database harness the scenario tests stand on: a throwaway PostgreSQL that psycopg2 reaches over TCP
// and the unix socket, a port whose connects stall, and a port whose connects are refused.
#include <catch2/catch.hpp>
#include <chrono>

#include "postgres.h"

using namespace pmtest;

namespace {

// Connects with psycopg2 (Debian's python3) and runs SELECT 1: prints "1", or the error's class and message.
Captured pg_connect(const std::string& url) {
  return run_capture({kSystemPython, "-c",
                      "import sys, psycopg2\n"
                      "try:\n"
                      "    c = psycopg2.connect(sys.argv[1])\n"
                      "    cur = c.cursor(); cur.execute('SELECT 1'); print(cur.fetchone()[0])\n"
                      "except psycopg2.Error as e:\n"
                      "    print(type(e).__name__, str(e).strip()); sys.exit(1)\n",
                      url},
                     {}, 30);
}

// A plain TCP connect to 127.0.0.1:port with a timeout: prints connected, refused or timeout.
Captured tcp_connect(int port, double timeout_s) {
  return run_capture({kSystemPython, "-c",
                      "import socket, sys\n"
                      "s = socket.socket(); s.settimeout(float(sys.argv[2]))\n"
                      "try:\n"
                      "    s.connect(('127.0.0.1', int(sys.argv[1]))); print('connected')\n"
                      "except TimeoutError: print('timeout')\n"
                      "except ConnectionRefusedError: print('refused')\n",
                      std::to_string(port), std::to_string(timeout_s)},
                     {}, 30);
}

std::string pg_url(int port) {
  return "postgresql://meats:pw-s3cret@127.0.0.1:" + std::to_string(port) + "/meats?connect_timeout=2";
}

}  // namespace

TEST_CASE("postgres harness: a throwaway cluster psycopg2 connects to", "[root][harness]") {
  auto t0 = std::chrono::steady_clock::now();
  Postgres pg;
  REQUIRE_POSTGRES(pg);
  auto setup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  INFO("cluster up in " << setup_ms.count() << " ms; " << pg.url() << " ; " << pg.socket_url());
  CHECK(pg.port() > 0);

  auto tcp = pg_connect(pg.url());
  INFO(tcp.output);
  CHECK(tcp.status == 0);
  CHECK(tcp.output == "1\n");

  auto unix_socket = pg_connect(pg.socket_url());
  INFO(unix_socket.output);
  CHECK(unix_socket.status == 0);
  CHECK(unix_socket.output == "1\n");

  // The app's user needs its password, over TCP and over the socket.
  auto wrong = pg_connect("postgresql://meats:wrong@127.0.0.1:" + std::to_string(pg.port()) + "/meats");
  INFO(wrong.output);
  CHECK(wrong.status == 1);
  CHECK(wrong.output.find("password authentication failed for user \"meats\"") != std::string::npos);
  auto wrong_socket =
      pg_connect("postgresql://meats:wrong@/meats?host=" + pg.socket_dir() + "&port=" + std::to_string(pg.port()));
  INFO(wrong_socket.output);
  CHECK(wrong_socket.output.find("password authentication failed") != std::string::npos);

  auto who = pg.psql("SELECT current_user");
  CHECK(who.status == 0);
  CHECK(who.output == "postgres\n");

  // Once stopped, its port refuses connections.
  pg.stop();
  auto after = pg_connect(pg.url());
  INFO(after.output);
  CHECK(after.output.find("Connection refused") != std::string::npos);
}

TEST_CASE("postgres harness: a stalled port and a refused port", "[root][harness]") {
  StalledPort stalled;
  REQUIRE(stalled.ok());
  int refused = refused_port();
  REQUIRE(refused > 0);
  REQUIRE(refused != stalled.port());

  SECTION("a plain connect") {
    auto t0 = std::chrono::steady_clock::now();
    auto s = tcp_connect(stalled.port(), 3);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(s.output);
    CHECK(s.output == "timeout\n");
    CHECK(took >= 2.9);
    // Every connect stalls, not just the first.
    CHECK(tcp_connect(stalled.port(), 1).output == "timeout\n");

    auto r = tcp_connect(refused, 3);
    INFO(r.output);
    CHECK(r.output == "refused\n");
  }

  SECTION("psycopg2 with connect_timeout=2") {
    auto s = pg_connect(pg_url(stalled.port()));
    INFO(s.output);
    CHECK(s.status == 1);
    CHECK(s.output.find("OperationalError") == 0);
    CHECK(s.output.find("timeout expired") != std::string::npos);

    auto r = pg_connect(pg_url(refused));
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(r.output.find("Connection refused") != std::string::npos);
  }
}
