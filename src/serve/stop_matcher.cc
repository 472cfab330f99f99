#include "serve/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace autoglm::serve {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

StopMatcher::Output StopMatcher::push(std::string_view text) {
  Output out;
  if (stopped_) return out;
  held_.append(text);
  // The earliest match wins: text before it is the whole remaining output.
  size_t cut = std::string::npos;
  for (const auto& s : stops_) cut = std::min(cut, held_.find(s));
  if (cut != std::string::npos) {
    out.text = held_.substr(0, cut);
    out.stopped = stopped_ = true;
    held_.clear();
    return out;
  }
  // Hold the longest tail that is a proper prefix of some stop string. A valid UTF-8 stop string
  // never starts with a continuation byte, so the cut falls on a character boundary.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n) {
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
    }
  }
  out.text = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = std::move(held_);
  held_.clear();
  return out;
}

}  // namespace autoglm::serve
