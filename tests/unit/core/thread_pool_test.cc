#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace autoglm {
namespace {

TEST(ThreadPoolTest, EveryThreadIndexRunsExactlyOncePerRun) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    ASSERT_EQ(pool.size(), n);
    std::vector<std::atomic<int>> hits(n);
    constexpr int kRuns = 200;
    for (int run = 0; run < kRuns; ++run) {
      std::atomic<int> bad_nth{0};
      pool.run([&](int ith, int nth) {
        if (nth != n || ith < 0 || ith >= n) {
          bad_nth.fetch_add(1);
          return;
        }
        hits[ith].fetch_add(1);
      });
      ASSERT_EQ(bad_nth.load(), 0);
      // run() must not return before every thread finished this job.
      for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), run + 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPoolTest, WritesOfAllThreadsAreVisibleAfterRun) {
  ThreadPool pool(3);
  std::vector<int64_t> data(3000);
  for (int run = 0; run < 200; ++run) {
    pool.run([&](int ith, int nth) {
      int64_t b, e;
      ThreadPool::split(static_cast<int64_t>(data.size()), ith, nth, &b, &e);
      for (int64_t i = b; i < e; ++i) data[i] = i + run;
    });
    for (size_t i = 0; i < data.size(); i += 97) ASSERT_EQ(data[i], static_cast<int64_t>(i) + run);
  }
}

TEST(ThreadPoolTest, SplitCoversRangeOnceInOrder) {
  for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
    for (int nth : {1, 2, 3, 8}) {
      int64_t expect_begin = 0;
      for (int ith = 0; ith < nth; ++ith) {
        int64_t b, e;
        ThreadPool::split(n, ith, nth, &b, &e);
        EXPECT_LE(b, e);
        if (b < e) {
          EXPECT_EQ(b, expect_begin) << "n=" << n << " nth=" << nth << " ith=" << ith;
          expect_begin = e;
        }
      }
      EXPECT_EQ(expect_begin, n) << "n=" << n << " nth=" << nth;
    }
  }
}

TEST(ThreadPoolTest, DefaultThreadsIsPositive) {
  EXPECT_GE(ThreadPool::default_threads(), 1);
}

}  // namespace
}  // namespace autoglm
