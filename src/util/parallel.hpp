// Internal: the one fork-join mechanism of the library. Work is cut into
// chunks; threads take the next chunk as they free up (one atomic counter), so
// a thread that gets no core for a while (a shared machine) leaves its chunks
// to the others instead of holding up the call. The calling thread is one of
// the workers; the first exception is rethrown on it once every thread has
// stopped.
//
//   util::parallel_for(n_chunks, options.threads, [&](size_t chunk, unsigned worker) { ... });
//
// `worker` is 0 on the calling thread and 1..threads-1 on the others (index
// per-thread scratch with it). A ParallelRun starts the other threads at
// once and lets the caller do something else before it joins them (a
// pipeline: normalise the next chunk of a batch while this one is linked).
//
// Thread safety: a ParallelRun is used by the thread that created it.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace cdpcore::util {

/// Threads never exceed this (per-thread indexes fit in a byte).
inline constexpr unsigned kMaxThreads = 256;

/// The thread count that `threads = 0` means in every options struct of the
/// library: every hardware thread (std::thread::hardware_concurrency()), at
/// least 1 and at most kMaxThreads.
unsigned default_threads() noexcept;

/// `requested`, or default_threads() for 0; at most kMaxThreads.
unsigned resolve_threads(unsigned requested) noexcept;

namespace parallel_detail {

/// The part of a run that does not depend on the work's type.
class RunCore {
 public:
  using Call = void (*)(void* fn, size_t chunk, unsigned worker);
  using Check = bool (*)(void* hook);

  RunCore(size_t n_chunks, unsigned threads) noexcept;
  RunCore(const RunCore&) = delete;
  RunCore& operator=(const RunCore&) = delete;
  ~RunCore();

  /// Threads taking part (the caller included): resolve_threads(threads),
  /// at most n_chunks, at least 1.
  unsigned threads() const noexcept { return threads_; }

 protected:
  /// Starts threads() - 1 other threads on call(fn, …).
  void start(Call call, void* fn);
  /// The caller works too, calling check(hook) after each of its chunks
  /// (when given: false stops handing out chunks), then waits for the others.
  /// Rethrows the first exception; returns false when check stopped the run.
  bool finish(Call call, void* fn, Check check, void* hook);
  /// Stops handing out chunks and waits for the other threads; their errors
  /// are dropped (the run is being abandoned).
  void abandon() noexcept;

 private:
  void work(Call call, void* fn, unsigned worker, Check check, void* hook) noexcept;
  void join_all() noexcept;

  size_t n_chunks_;
  unsigned threads_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stop_{false};
  bool stopped_by_check_ = false;  // written by the calling thread only
  std::mutex error_mu_;
  std::exception_ptr error_;
  std::vector<std::thread> others_;
};

}  // namespace parallel_detail

/// Runs fn(chunk, worker) for every chunk in [0, n_chunks), exactly once each
/// unless the run stops early (an exception, or join's hook returning
/// false). The other threads start at construction; the caller joins the
/// work with join(). Destroying a run that was not joined stops it and waits
/// for its threads (use that when the caller's own work failed).
template <typename Fn>
class ParallelRun : parallel_detail::RunCore {
 public:
  ParallelRun(size_t n_chunks, unsigned threads, Fn fn) : RunCore(n_chunks, threads), fn_(std::move(fn)) {
    start(&call, &fn_);
  }
  ~ParallelRun() { abandon(); }  // before fn_ goes: the other threads may still call it

  using RunCore::threads;

  /// Takes chunks on the calling thread until none are left, then waits for
  /// the others. Rethrows the first exception any chunk threw.
  void join() { finish(&call, &fn_, nullptr, nullptr); }

  /// As join(), calling keep_going() on the calling thread after each chunk
  /// it ran; once it returns false no further chunk starts. Returns false
  /// when keep_going stopped the run (chunks then were skipped). An
  /// exception from keep_going is handled as one from a chunk.
  template <typename Hook>
  bool join(Hook&& keep_going) {
    return finish(&call, &fn_, &check<std::remove_reference_t<Hook>>, &keep_going);
  }

 private:
  static void call(void* fn, size_t chunk, unsigned worker) { (*static_cast<Fn*>(fn))(chunk, worker); }
  template <typename Hook>
  static bool check(void* hook) {
    return (*static_cast<Hook*>(hook))();
  }

  Fn fn_;
};

/// Runs fn(chunk, worker) for every chunk in [0, n_chunks) on `threads`
/// threads (0 = default_threads(); never more than there are chunks); with
/// one thread, in order on the calling thread and no other thread starts.
template <typename Fn>
void parallel_for(size_t n_chunks, unsigned threads, Fn&& fn) {
  ParallelRun<std::decay_t<Fn>> run(n_chunks, threads, std::forward<Fn>(fn));
  run.join();
}

/// As above with a hook on the calling thread after each of its chunks
/// (progress, cancellation); returns false when the hook stopped the run.
template <typename Fn, typename Hook>
bool parallel_for(size_t n_chunks, unsigned threads, Fn&& fn, Hook&& keep_going) {
  ParallelRun<std::decay_t<Fn>> run(n_chunks, threads, std::forward<Fn>(fn));
  return run.join(std::forward<Hook>(keep_going));
}

}  // namespace cdpcore::util
