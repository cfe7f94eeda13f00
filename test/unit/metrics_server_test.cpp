// `mmrun load --metrics`: the address it takes, and the server answering
// real HTTP requests through the event loop's hand-off
// (runtime/metrics_server).
#include "metrics_server.h"

#include <httplib.h>
#include <poll.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace mmp::runtime {
namespace {

MetricsAddress parse(const std::string& text) {
  auto a = parseMetricsAddress(text);
  EXPECT_TRUE(static_cast<bool>(a)) << text << ": " << (a ? "" : llvm::toString(a.takeError()));
  return a ? *a : MetricsAddress{};
}

std::string refusal(const std::string& text) {
  auto a = parseMetricsAddress(text);
  if (a) return "";
  return llvm::toString(a.takeError());
}

TEST(MetricsAddress, LoopbackUnlessAnAddressIsGiven) {
  EXPECT_EQ(parse("9464").host, "127.0.0.1");
  EXPECT_EQ(parse("9464").port, 9464);
  EXPECT_EQ(parse(":9464").host, "127.0.0.1");
  EXPECT_EQ(parse("0.0.0.0:80").host, "0.0.0.0");
  EXPECT_EQ(parse("[::1]:9464").host, "::1");
  EXPECT_EQ(parse("[::1]:9464").port, 9464);
  EXPECT_EQ(parse("node.example:0").host, "node.example");
  EXPECT_EQ(parse("127.0.0.1:0").port, 0);
}

TEST(MetricsAddress, BadOnesSayWhy) {
  EXPECT_NE(refusal("").find("the port must be a number"), std::string::npos);
  EXPECT_NE(refusal("127.0.0.1:").find("the port must be a number"), std::string::npos);
  EXPECT_NE(refusal("127.0.0.1:65536").find("0 to 65535"), std::string::npos);
  EXPECT_NE(refusal("127.0.0.1:94x").find("the port must be a number"), std::string::npos);
  EXPECT_NE(refusal("::1:9464").find("in brackets"), std::string::npos);
  EXPECT_NE(refusal("[::1]9464").find("a port must follow"), std::string::npos);
  EXPECT_NE(refusal("[]:9464").find("in brackets"), std::string::npos);
  EXPECT_NE(refusal("localhost").find("--metrics localhost: "), std::string::npos);
}

// An event loop for the server: answers scrapes with `render` until told
// to stop.
struct Loop {
  MetricsServer& server;
  std::atomic<bool> stop{false};
  std::thread thread;
  Loop(MetricsServer& s, MetricsServer::Render render) : server(s) {
    thread = std::thread([this, render] {
      while (!stop) {
        struct pollfd p {server.fd(), POLLIN, 0};
        if (poll(&p, 1, 20) > 0) server.serve(render);
      }
    });
  }
  ~Loop() {
    stop = true;
    thread.join();
  }
};

int portOf(const std::string& url) {
  size_t colon = url.rfind(':'), slash = url.find('/', colon);
  return std::stoi(url.substr(colon + 1, slash - colon - 1));
}

TEST(MetricsServer, AnswersScrapesInTheFormatAskedFor) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(static_cast<bool>(server)) << llvm::toString(server.takeError());
  MetricsServer& s = **server;
  ASSERT_EQ(s.url().rfind("http://127.0.0.1:", 0), 0u) << s.url();
  ASSERT_NE(s.url().find("/metrics"), std::string::npos);
  int rendered = 0;
  {
    Loop loop(s, [&](bool om) {
      ++rendered;
      return std::string(om ? "om\n# EOF\n" : "text\n");
    });
    httplib::Client c("127.0.0.1", portOf(s.url()));
    auto plain = c.Get("/metrics");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
    EXPECT_EQ(plain->body, "text\n");
    EXPECT_EQ(plain->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    auto om = c.Get("/metrics", {{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}});
    ASSERT_TRUE(om);
    EXPECT_EQ(om->body, "om\n# EOF\n");
    EXPECT_EQ(om->get_header_value("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    auto other = c.Get("/");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 404);
  }
  EXPECT_EQ(rendered, 2);
  EXPECT_EQ(s.scrapes(), 2u);
}

TEST(MetricsServer, RefusesAPortInUse) {
  auto first = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(static_cast<bool>(first));
  int port = portOf((*first)->url());
  auto second = MetricsServer::start({"127.0.0.1", port});
  ASSERT_FALSE(static_cast<bool>(second));
  std::string why = llvm::toString(second.takeError());
  EXPECT_NE(why.find("cannot listen on 127.0.0.1 port " + std::to_string(port)), std::string::npos) << why;
}

TEST(MetricsServer, AScrapeWaitingWhenItStopsIsAnswered503) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(static_cast<bool>(server));
  int port = portOf((*server)->url());
  std::atomic<int> status{0};
  std::thread scraper([&] {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/metrics");
    status = r ? r->status : -1;
  });
  // No loop serves it: wait until the scrape is waiting, then stop.
  struct pollfd p {(*server)->fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  server->reset();
  scraper.join();
  EXPECT_EQ(status.load(), 503);
}

}  // namespace
}  // namespace mmp::runtime
