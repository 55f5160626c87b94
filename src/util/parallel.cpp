// The type-free part of util::ParallelRun: the chunk counter, the other
// threads, the first error.
#include "util/parallel.hpp"

#include <algorithm>

namespace cdpcore::util {

unsigned default_threads() noexcept { return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads); }

unsigned resolve_threads(unsigned requested) noexcept {
  return requested == 0 ? default_threads() : std::min(requested, kMaxThreads);
}

namespace parallel_detail {

RunCore::RunCore(size_t n_chunks, unsigned threads) noexcept
    : n_chunks_(n_chunks),
      threads_(static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(resolve_threads(threads), n_chunks)))) {}

RunCore::~RunCore() { join_all(); }

void RunCore::start(Call call, void* fn) {
  others_.reserve(threads_ - 1);
  try {
    for (unsigned w = 1; w < threads_; ++w)
      others_.emplace_back([this, call, fn, w] { work(call, fn, w, nullptr, nullptr); });
  } catch (...) {  // no thread to be had: stop the ones that started
    abandon();
    throw;
  }
}

void RunCore::work(Call call, void* fn, unsigned worker, Check check, void* hook) noexcept {
  try {
    while (!stop_.load(std::memory_order_relaxed)) {
      const size_t c = next_.fetch_add(1, std::memory_order_relaxed);
      if (c >= n_chunks_) break;
      call(fn, c, worker);
      if (check && !check(hook)) {
        stopped_by_check_ = true;
        stop_ = true;
      }
    }
  } catch (...) {
    std::lock_guard lock(error_mu_);
    if (!error_) error_ = std::current_exception();
    stop_ = true;
  }
}

bool RunCore::finish(Call call, void* fn, Check check, void* hook) {
  work(call, fn, 0, check, hook);
  join_all();
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return !stopped_by_check_;
}

void RunCore::abandon() noexcept {
  stop_ = true;
  join_all();
}

void RunCore::join_all() noexcept {
  for (auto& t : others_)
    if (t.joinable()) t.join();
  others_.clear();
}

}  // namespace parallel_detail

}  // namespace cdpcore::util
