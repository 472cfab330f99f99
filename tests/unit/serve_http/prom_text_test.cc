#include "serve/http/prom_text.h"

#include <gtest/gtest.h>

namespace autoglm::serve::http {
namespace {

TEST(PromText, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // on a bound: counted in that bucket (le means <=)
  h.observe(0.5);
  h.observe(7);
  PromWriter w;
  w.family("lat_seconds", "histogram", "Latency");
  w.histogram("lat_seconds", {{"model", "m"}}, h);
  EXPECT_EQ(w.text(),
            "# HELP lat_seconds Latency\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
            "lat_seconds_bucket{model=\"m\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{model=\"m\"} 7.65\n"
            "lat_seconds_count{model=\"m\"} 4\n");
}

TEST(PromText, LabelValuesAreEscaped) {
  PromWriter w;
  w.sample("x_total", {{"model", "a\"b\\c\nd"}}, 3);
  EXPECT_EQ(w.text(), "x_total{model=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(PromText, NumbersRoundTrip) {
  EXPECT_EQ(format_number(1), "1");
  EXPECT_EQ(format_number(0.25), "0.25");
  EXPECT_EQ(format_number(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_number(12345678), "12345678");
}

TEST(PromText, SampleWithoutLabels) {
  PromWriter w;
  w.sample("up", {}, 1);
  EXPECT_EQ(w.text(), "up 1\n");
}

}  // namespace
}  // namespace autoglm::serve::http
