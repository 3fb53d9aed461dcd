// berth-bench's statistics: percentiles by linear interpolation between the
// nearest ranks, summaries, and the ratios between runtimes.
#include <gtest/gtest.h>

#include "stats.hpp"

using namespace berth::bench;

TEST(BenchPercentile, NoSamplesHaveNoPercentile) {
    EXPECT_FALSE(percentile({}, 50).has_value());
}

TEST(BenchPercentile, OneSampleIsEveryPercentile) {
    EXPECT_DOUBLE_EQ(*percentile({7.5}, 0), 7.5);
    EXPECT_DOUBLE_EQ(*percentile({7.5}, 50), 7.5);
    EXPECT_DOUBLE_EQ(*percentile({7.5}, 99), 7.5);
}

TEST(BenchPercentile, InterpolatesBetweenRanksOfUnsortedSamples) {
    // Sorted: 1 2 3 4 (ranks 0..3).
    const std::vector<double> samples{4, 1, 3, 2};
    EXPECT_DOUBLE_EQ(*percentile(samples, 0), 1);
    EXPECT_DOUBLE_EQ(*percentile(samples, 100), 4);
    EXPECT_DOUBLE_EQ(*percentile(samples, 50), 2.5);    // rank 1.5
    EXPECT_NEAR(*percentile(samples, 95), 3.85, 1e-9);  // rank 2.85
    EXPECT_NEAR(*percentile(samples, 99), 3.97, 1e-9);  // rank 2.97
}

TEST(BenchPercentile, MatchesNumpysDefaultOnAHundredSamples) {
    std::vector<double> samples;
    for (int i = 100; i >= 1; --i)
        samples.push_back(i);
    // numpy.percentile(range(1, 101), [50, 95, 99]) = 50.5, 95.05, 99.01
    EXPECT_NEAR(*percentile(samples, 50), 50.5, 1e-9);
    EXPECT_NEAR(*percentile(samples, 95), 95.05, 1e-9);
    EXPECT_NEAR(*percentile(samples, 99), 99.01, 1e-9);
}

TEST(BenchPercentile, OutOfRangePercentilesAreClamped) {
    EXPECT_DOUBLE_EQ(*percentile({1, 2, 3}, -5), 1);
    EXPECT_DOUBLE_EQ(*percentile({1, 2, 3}, 150), 3);
}

TEST(BenchSummary, FiguresOfSamples) {
    const auto summary = summarize({10, 20, 30, 40}, 2, 1);
    EXPECT_EQ(summary.count, 4u);
    EXPECT_EQ(summary.errors, 2u);
    EXPECT_DOUBLE_EQ(summary.p50, 25);
    EXPECT_DOUBLE_EQ(summary.max, 40);
    EXPECT_DOUBLE_EQ(summary.mean, 25);
    EXPECT_DOUBLE_EQ(summary.ops_per_second, 40);  // one worker, 25 ms each
}

TEST(BenchSummary, ThroughputScalesWithWorkers) {
    EXPECT_DOUBLE_EQ(summarize({100, 100}, 0, 10).ops_per_second, 100);
    // 0 workers is taken as one.
    EXPECT_DOUBLE_EQ(summarize({100}, 0, 0).ops_per_second, 10);
}

TEST(BenchSummary, NoSamplesKeepOnlyTheErrors) {
    const auto summary = summarize({}, 3, 4);
    EXPECT_EQ(summary.count, 0u);
    EXPECT_EQ(summary.errors, 3u);
    EXPECT_DOUBLE_EQ(summary.p50, 0);
    EXPECT_DOUBLE_EQ(summary.ops_per_second, 0);
}

TEST(BenchRatio, CandidateOverBaseline) {
    EXPECT_DOUBLE_EQ(*ratio(25.0, 100.0), 0.25);
    EXPECT_DOUBLE_EQ(*ratio(150.0, 100.0), 1.5);
    EXPECT_EQ(format_ratio(ratio(25.0, 100.0)), "0.25x");
    EXPECT_EQ(format_ratio(ratio(1.0, 3.0)), "0.33x");
}

TEST(BenchRatio, MissingOrZeroSidesHaveNoRatio) {
    EXPECT_FALSE(ratio(std::nullopt, 1.0).has_value());
    EXPECT_FALSE(ratio(1.0, std::nullopt).has_value());
    EXPECT_FALSE(ratio(1.0, 0.0).has_value());
    EXPECT_EQ(format_ratio(std::nullopt), "-");
}
