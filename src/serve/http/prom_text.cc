#include "serve/http/prom_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace autoglm::serve::http {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  ++counts_[static_cast<size_t>(it - bounds_.begin())];
  sum_ += v;
  ++count_;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PromWriter::family(const std::string& name, const char* type, const std::string& help) {
  out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void PromWriter::write_labels(const Labels& labels,
                              const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && !extra) return;
  out_ += '{';
  bool first = true;
  auto put = [&](const std::pair<std::string, std::string>& l) {
    if (!first) out_ += ',';
    first = false;
    out_ += l.first + "=\"" + escape_label_value(l.second) + "\"";
  };
  for (const auto& l : labels) put(l);
  if (extra) put(*extra);
  out_ += '}';
}

void PromWriter::sample(const std::string& name, const Labels& labels, double value) {
  out_ += name;
  write_labels(labels, nullptr);
  out_ += ' ' + format_number(value) + '\n';
}

void PromWriter::histogram(const std::string& name, const Labels& labels, const Histogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    const std::pair<std::string, std::string> le{
        "le", i < h.bounds().size() ? format_number(h.bounds()[i]) : "+Inf"};
    out_ += name + "_bucket";
    write_labels(labels, &le);
    out_ += ' ' + std::to_string(cumulative) + '\n';
  }
  sample(name + "_sum", labels, h.sum());
  sample(name + "_count", labels, static_cast<double>(h.count()));
}

}  // namespace autoglm::serve::http
