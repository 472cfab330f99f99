// Prometheus text exposition format 0.0.4: families with HELP/TYPE, labelled samples and
// cumulative histograms.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace autoglm::serve::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Fixed upper bounds; observe() counts into the first bucket whose bound is >= the value.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, +Inf last
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

class PromWriter {
 public:
  // Starts a family: "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
  void family(const std::string& name, const char* type, const std::string& help);
  void sample(const std::string& name, const Labels& labels, double value);
  // name_bucket{...,le="b"} (cumulative), name_sum, name_count.
  void histogram(const std::string& name, const Labels& labels, const Histogram& h);
  const std::string& text() const { return out_; }

 private:
  void write_labels(const Labels& labels, const std::pair<std::string, std::string>* extra);
  std::string out_;
};

// "1", "0.25", "+Inf", "NaN": shortest text that reads back to the same double.
std::string format_number(double v);
// Escapes backslash, double quote and newline for a label value.
std::string escape_label_value(const std::string& v);

}  // namespace autoglm::serve::http
