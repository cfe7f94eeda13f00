#include "metrics_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "exposition.h"
#include "threads.h"

namespace mmp::runtime {

namespace {

llvm::Error bad(const std::string& text, const std::string& why) {
  return llvm::createStringError(std::errc::invalid_argument, "--metrics %s: %s", text.c_str(), why.c_str());
}

// A scrape waits this long for the event loop before it is answered 503.
constexpr auto kRenderWait = std::chrono::seconds(10);

}  // namespace

llvm::Expected<MetricsAddress> parseMetricsAddress(const std::string& text) {
  MetricsAddress a{"127.0.0.1", 0};
  std::string port = text;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close == 1) return bad(text, "an IPv6 address goes in brackets: [::1]:9464");
    if (text.compare(close + 1, 1, ":") != 0) return bad(text, "a port must follow the address: [::1]:9464");
    a.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string::npos) {
    if (text.find(':') != colon) return bad(text, "write an IPv6 address in brackets: [::1]:9464");
    if (colon > 0) a.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return bad(text, "the port must be a number from 0 to 65535 (0: any free port), as in 127.0.0.1:9464");
  a.port = static_cast<int>(value);
  return a;
}

llvm::Expected<std::unique_ptr<MetricsServer>> MetricsServer::start(const MetricsAddress& at) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->eventFd_ < 0)
    return llvm::createStringError(std::errc::io_error, "metrics: eventfd: %s", std::strerror(errno));
  s->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *s->http_;
  // Two workers: a scrape being answered does not hold up the next one.
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which
  // a second mmrun would bind the same port and take half the scrapes.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  MetricsServer* self = s.get();
  http.Get("/metrics", [self](const httplib::Request& req, httplib::Response& res) {
    auto w = std::make_shared<Waiting>();
    w->openMetrics = Exposition::wantsOpenMetrics(req.get_header_value("Accept"));
    auto text = w->text.get_future();
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      if (self->closing_) {
        res.status = 503;
        res.set_content("mmrun is stopping\n", "text/plain");
        return;
      }
      self->waiting_.push_back(w);
    }
    uint64_t one = 1;
    if (write(self->eventFd_, &one, sizeof one) < 0 && errno != EAGAIN) {
      res.status = 500;
      res.set_content(fmt::format("mmrun: eventfd: {}\n", std::strerror(errno)), "text/plain");
      return;
    }
    try {
      if (text.wait_for(kRenderWait) != std::future_status::ready) {
        res.status = 503;
        res.set_content("mmrun's event loop did not answer within 10 s\n", "text/plain");
        return;
      }
      res.set_content(text.get(), Exposition::contentType(w->openMetrics));
    } catch (const std::future_error&) {  // mmrun stopped meanwhile
      res.status = 503;
      res.set_content("mmrun is stopping\n", "text/plain");
    }
  });
  int port = at.port;
  errno = 0;
  bool bound = port == 0 ? (port = http.bind_to_any_port(at.host)) > 0 : http.bind_to_port(at.host, port);
  if (!bound)
    return llvm::createStringError(std::errc::address_in_use, "metrics: cannot listen on %s port %d: %s",
                                   at.host.c_str(), at.port,
                                   errno ? std::strerror(errno) : "the address does not resolve");
  bool v6 = at.host.find(':') != std::string::npos;
  s->url_ = fmt::format("http://{}{}{}:{}/metrics", v6 ? "[" : "", at.host, v6 ? "]" : "", port);
  // Its workers inherit its mask: no signal reaches them (threads.h).
  s->listener_ = signalFreeThread([self] { self->http_->listen_after_bind(); });
  // Running before start returns: a stop() before the listener ran would
  // find nothing to stop, and the join would wait for ever.
  for (int i = 0; i < 2000 && !http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s;
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    // Their scrapes are answered 503 now, not when they time out.
    for (auto& w : waiting_) w->text.set_exception(std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
    waiting_.clear();
  }
  if (http_) http_->stop();
  if (listener_.joinable()) listener_.join();
  if (eventFd_ >= 0) close(eventFd_);
}

void MetricsServer::serve(const Render& render) {
  uint64_t n = 0;
  if (read(eventFd_, &n, sizeof n) < 0 && errno != EAGAIN) return;
  std::deque<std::shared_ptr<Waiting>> now;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    now.swap(waiting_);
  }
  std::string text[2];
  bool made[2] = {false, false};
  for (auto& w : now) {
    int i = w->openMetrics ? 1 : 0;
    if (!made[i]) {
      text[i] = render(w->openMetrics);
      made[i] = true;
    }
    w->text.set_value(text[i]);
    ++scrapes_;
  }
}

}  // namespace mmp::runtime
