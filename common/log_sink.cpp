// The asynchronous log sink (common/log_sink.hpp).
#include "common/log_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

namespace fc::log {

namespace {
// How long the background thread lets lines gather after the first one: one
// write(2) per interval under load instead of one per line.
constexpr auto kGather = std::chrono::milliseconds(2);

std::mutex g_mu;
std::shared_ptr<AsyncFdSink> g_sink;
}  // namespace

AsyncFdSink::AsyncFdSink(int fd, std::size_t capacity) : fd_(fd), capacity_(capacity) {
  thread_ = std::thread([this] { run(); });
}

AsyncFdSink::~AsyncFdSink() {
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();  // writes what is left before it returns
}

void AsyncFdSink::write_all(const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report it: stderr is this
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void AsyncFdSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  if (msg.level >= spdlog::level::warn) {
    // At once, after what is buffered (and after the background thread's
    // write in progress: it holds write_mu_).
    std::lock_guard w(write_mu_);
    if (!pending_.empty()) {
      write_all(pending_.data(), pending_.size());
      pending_.clear();
    }
    write_all(line.data(), line.size());
    return;
  }
  if (pending_.size() + line.size() > capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool was_empty = pending_.empty();
  pending_.append(line.data(), line.size());
  if (was_empty && waiting_) cv_.notify_one();
}

void AsyncFdSink::flush_() {
  std::lock_guard w(write_mu_);
  if (pending_.empty()) return;
  write_all(pending_.data(), pending_.size());
  pending_.clear();
}

void AsyncFdSink::run() {
  std::unique_lock lk(mutex_);
  for (;;) {
    waiting_ = true;
    cv_.wait(lk, [&] { return stop_ || !pending_.empty(); });
    waiting_ = false;
    if (pending_.empty()) return;  // stopping, nothing left
    if (!stop_) {
      lk.unlock();
      std::this_thread::sleep_for(kGather);
      lk.lock();
    }
    spare_.clear();
    spare_.swap(pending_);  // pending_ gets the previous buffer's capacity
    std::unique_lock w(write_mu_);
    lk.unlock();
    write_all(spare_.data(), spare_.size());
    w.unlock();
    lk.lock();
  }
}

std::uint64_t dropped_lines() {
  std::lock_guard lk(g_mu);
  return g_sink ? g_sink->dropped() : 0;
}

void set_process_sink(std::shared_ptr<AsyncFdSink> sink) {
  std::lock_guard lk(g_mu);
  g_sink = std::move(sink);
}

}  // namespace fc::log
