// One request inside the engine: its tokens so far, KV blocks, sampler and output state.
// Owned by the engine; only the engine thread touches a sequence once it is admitted.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/sampler.h"
#include "serve/block_manager.h"
#include "serve/engine.h"
#include "serve/stop_matcher.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::serve {

struct Sequence {
  Sequence(uint64_t id, uint64_t arrival, Request r, const tokenizer::Tokenizer& tok)
      : id(id),
        arrival(arrival),
        req(std::move(r)),
        tokens(req.prompt),
        n_prompt(static_cast<int64_t>(req.prompt.size())),
        sampler(req.sampling),
        decoder(tok),
        stop(req.stop),
        submitted(Clock::now()) {}

  int64_t n_generated() const { return static_cast<int64_t>(tokens.size()) - n_prompt; }
  // Tokens whose K/V are not written yet; the last of them yields the next token's logits.
  int64_t remaining() const { return static_cast<int64_t>(tokens.size()) - n_computed; }
  // Running order and preemption order: higher priority first, then earlier arrival.
  bool before(const Sequence& o) const {
    return req.priority != o.req.priority ? req.priority > o.req.priority : arrival < o.arrival;
  }

  const uint64_t id;
  const uint64_t arrival;  // FIFO rank within a priority level; kept across preemptions
  const Request req;
  std::weak_ptr<RequestHandle> handle;

  std::vector<int32_t> tokens;  // prompt, then generated tokens
  const int64_t n_prompt;
  int64_t n_computed = 0;  // leading tokens whose K/V rows are in `table`
  BlockTable table;

  runtime::Sampler sampler;  // kept across preemptions so a seeded stream stays the same
  tokenizer::StreamDecoder decoder;
  StopMatcher stop;

  bool started = false;  // admitted at least once (queue timeout no longer applies)
  bool done = false;     // final event sent; dropped from its list at the next sweep
  int64_t cached_prompt_tokens = 0;
  Clock::time_point submitted, admitted, first_token, last_token;
};

}  // namespace autoglm::serve
