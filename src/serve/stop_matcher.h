// Stop strings over streamed text: matched across token boundaries, the stop string itself never
// emitted, and any tail that could still become a stop string held back until it is resolved.
// Feed it the output of tokenizer::StreamDecoder so held and emitted text stay valid UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace autoglm::serve {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Output {
    std::string text;      // safe to emit now
    bool stopped = false;  // a stop string matched: text ends right before it; feed no more
  };
  // Appends newly decoded text.
  Output push(std::string_view text);
  // The held-back tail, when the stream ends without a stop.
  std::string flush();

  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace autoglm::serve
