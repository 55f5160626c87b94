#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "util/parallel.hpp"

using cdpcore::util::default_threads;
using cdpcore::util::kMaxThreads;
using cdpcore::util::parallel_for;
using cdpcore::util::ParallelRun;
using cdpcore::util::resolve_threads;

TEST_CASE("parallel: every chunk runs exactly once, on workers numbered below the thread count") {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}}) {
      std::vector<std::atomic<int>> runs(n);
      std::atomic<unsigned> max_worker{0};
      parallel_for(n, threads, [&](size_t c, unsigned w) {
        runs[c].fetch_add(1);
        unsigned m = max_worker.load();
        while (w > m && !max_worker.compare_exchange_weak(m, w)) {
        }
      });
      INFO("threads " << threads << ", chunks " << n);
      for (size_t c = 0; c < n; ++c) CHECK(runs[c].load() == 1);
      if (n > 0) CHECK(max_worker.load() < threads);
    }
  }
}

TEST_CASE("parallel: one thread runs every chunk in order on the calling thread") {
  const auto caller = std::this_thread::get_id();
  std::vector<size_t> order;
  parallel_for(50, 1, [&](size_t c, unsigned w) {
    CHECK(std::this_thread::get_id() == caller);
    CHECK(w == 0);
    order.push_back(c);
  });
  REQUIRE(order.size() == 50);
  for (size_t c = 0; c < order.size(); ++c) CHECK(order[c] == c);
  ParallelRun run(50, 1, [](size_t, unsigned) {});
  CHECK(run.threads() == 1);
  run.join();
}

TEST_CASE("parallel: more threads than chunks starts one thread per chunk at most") {
  std::mutex mu;
  std::set<std::thread::id> seen;
  ParallelRun run(3, 16, [&](size_t, unsigned) {
    std::lock_guard lock(mu);
    seen.insert(std::this_thread::get_id());
  });
  CHECK(run.threads() == 3);
  run.join();
  CHECK(seen.size() <= 3);
  CHECK(ParallelRun(0, 16, [](size_t, unsigned) {}).threads() == 1);
}

TEST_CASE("parallel: the first exception reaches the caller after every thread stopped") {
  for (unsigned threads : {1u, 2u, 4u}) {
    std::atomic<int> running{0};
    std::atomic<int> after_throw{0};
    std::atomic<bool> thrown{false};
    auto fn = [&](size_t c, unsigned) {
      running.fetch_add(1);
      if (thrown.load()) after_throw.fetch_add(1);
      if (c == 10) {
        thrown = true;
        running.fetch_sub(1);
        throw std::runtime_error("chunk 10");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      running.fetch_sub(1);
    };
    INFO("threads " << threads);
    CHECK_THROWS_WITH_AS(parallel_for(10000, threads, fn), "chunk 10", std::runtime_error);
    CHECK(running.load() == 0);            // nothing still running when the caller sees the error
    CHECK(after_throw.load() < 100);       // and the run stopped handing out chunks
  }
}

TEST_CASE("parallel: the hook on the calling thread cancels the run early") {
  for (unsigned threads : {1u, 2u, 3u}) {
    std::atomic<size_t> done{0};
    size_t hook_calls = 0;
    const auto caller = std::this_thread::get_id();
    const bool finished = parallel_for(
        100000, threads,
        [&](size_t, unsigned) {
          std::this_thread::sleep_for(std::chrono::microseconds(20));
          done.fetch_add(1);
        },
        [&] {
          CHECK(std::this_thread::get_id() == caller);
          return ++hook_calls < 5;
        });
    INFO("threads " << threads);
    CHECK_FALSE(finished);
    CHECK(hook_calls == 5);
    CHECK(done.load() < 1000);
  }
  size_t calls = 0;
  CHECK(parallel_for(20, 1, [](size_t, unsigned) {}, [&] { return ++calls > 0; }));
  CHECK(calls == 20);  // with one thread the hook follows every chunk
}

TEST_CASE("parallel: an exception from the hook is rethrown like one from a chunk") {
  CHECK_THROWS_WITH_AS(parallel_for(100, 2, [](size_t, unsigned) {}, []() -> bool { throw std::logic_error("hook"); }),
                       "hook", std::logic_error);
}

TEST_CASE("parallel: the caller works on its own while a run's other threads start on the chunks") {
  std::vector<std::atomic<int>> runs(64);
  std::atomic<int> by_others{0};
  {
    ParallelRun run(64, 2, [&](size_t c, unsigned w) {
      runs[c].fetch_add(1);
      if (w != 0) by_others.fetch_add(1);
    });
    // The other thread makes progress before the caller joins.
    for (int spin = 0; spin < 2000 && by_others.load() == 0; ++spin)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(by_others.load() > 0);
    run.join();
  }
  for (auto& r : runs) CHECK(r.load() == 1);
}

TEST_CASE("parallel: a run dropped without join stops and waits for its threads") {
  std::atomic<int> running{0};
  std::atomic<size_t> done{0};
  {
    ParallelRun run(1000000, 3, [&](size_t, unsigned) {
      running.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      done.fetch_add(1);
      running.fetch_sub(1);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(running.load() == 0);
  CHECK(done.load() < 1000000);
}

TEST_CASE("parallel: 0 threads means default_threads(), and every count is capped") {
  CHECK(default_threads() >= 1);
  CHECK(default_threads() <= kMaxThreads);
  CHECK(resolve_threads(0) == default_threads());
  CHECK(resolve_threads(1) == 1);
  CHECK(resolve_threads(3) == 3);
  CHECK(resolve_threads(100000) == kMaxThreads);
  if (std::thread::hardware_concurrency() > 0 && std::thread::hardware_concurrency() <= kMaxThreads)
    CHECK(default_threads() == std::thread::hardware_concurrency());
}
