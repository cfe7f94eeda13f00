// `mmrun load --metrics ADDR:PORT`: serves GET /metrics over HTTP
// (cpp-httplib) for Prometheus. The server's threads never touch mmrun's
// state: a scrape asks the event loop through an eventfd, the loop renders
// the text between two events and hands it back. So the metrics are a
// consistent picture of one moment, and no lock guards the enactor.
#pragma once

#include <llvm/Support/Error.h>

#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace mmp::runtime {

struct MetricsAddress {
  std::string host;  // as bound: "127.0.0.1", "::1", "0.0.0.0"
  int port = 0;      // 0: any free port (the bound one is reported)
};

// "PORT" or ":PORT" (loopback), "HOST:PORT", "[V6]:PORT". A port out of
// range, an empty host in brackets, or trailing junk is refused with why.
llvm::Expected<MetricsAddress> parseMetricsAddress(const std::string& text);

class MetricsServer {
public:
  // The text and whether it is OpenMetrics (else the 0.0.4 text format).
  using Render = std::function<std::string(bool openMetrics)>;

  // Binds (the error names the address and errno's text) and starts
  // serving in two threads of small stacks.
  static llvm::Expected<std::unique_ptr<MetricsServer>> start(const MetricsAddress& at);
  ~MetricsServer();

  // The eventfd the event loop watches: readable when a scrape waits.
  int fd() const { return eventFd_; }
  // "http://127.0.0.1:9464/metrics"
  const std::string& url() const { return url_; }
  // Called by the event loop when fd() is readable: answers every waiting
  // scrape.
  void serve(const Render& render);
  uint64_t scrapes() const { return scrapes_; }

private:
  MetricsServer() = default;
  struct Waiting {
    bool openMetrics;
    std::promise<std::string> text;
  };
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  int eventFd_ = -1;
  std::string url_;
  std::mutex mutex_;
  std::deque<std::shared_ptr<Waiting>> waiting_;
  bool closing_ = false;
  uint64_t scrapes_ = 0;
};

}  // namespace mmp::runtime
