// The daemon's log sink (docs/configuration.md "Logging"): lines go to a file
// descriptor (stderr) without the caller writing them. A line below `warn`
// is appended to a bounded buffer that one background thread writes with a
// single write(2) per few milliseconds; when the buffer is full the line is
// dropped and counted (dropped_lines(), /metrics), never waited for — the
// I/O thread does not stall behind a slow log reader. A line at `warn` or
// above is written before the call returns, after everything buffered (the
// order of lines is kept, and a `critical` before std::abort() is on disk).
// flush() and the destructor write what is buffered: nothing is lost at a
// clean shutdown.
#pragma once
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace fc::log {

class AsyncFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // `capacity`: bytes of lines buffered at most (1 MiB: ~5,000 access lines).
  explicit AsyncFdSink(int fd, std::size_t capacity = std::size_t{1} << 20);
  ~AsyncFdSink() override;
  AsyncFdSink(const AsyncFdSink&) = delete;
  AsyncFdSink& operator=(const AsyncFdSink&) = delete;

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void run();
  void write_all(const char* p, std::size_t n);
  const int fd_;
  const std::size_t capacity_;
  std::string pending_;  // guarded by mutex_ (base_sink's)
  std::string spare_;    // the background thread's last buffer, kept for its capacity
  std::mutex write_mu_;  // held while writing: keeps the lines in order
  std::condition_variable cv_;
  bool waiting_ = false;
  bool stop_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

// Lines the daemon's sink dropped since the start (0 when it has none).
std::uint64_t dropped_lines();
// Registers the process's sink for dropped_lines() (app/logging.cpp).
void set_process_sink(std::shared_ptr<AsyncFdSink> sink);

}  // namespace fc::log
