// Shared helpers for engine tests: a loaded model + tokenizer and a handle drain.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "serve/engine.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::serve::testing {

struct Loaded {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tokenizer::Tokenizer> tok;
};

inline Loaded load_model(const std::string& path) {
  Loaded l;
  auto m = model::Model::load(path);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  if (!m.ok()) return l;
  l.model = std::move(*m);
  auto t = tokenizer::Tokenizer::from_gguf(l.model->file());
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  if (t.ok()) l.tok = std::move(*t);
  return l;
}

inline std::unique_ptr<Engine> make_engine(const Loaded& l, const EngineOptions& o) {
  auto e = Engine::create(*l.model, *l.tok, o);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  return e.ok() ? std::move(*e) : nullptr;
}

// Everything a request produced, concatenated, plus its final event.
struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  std::vector<TokenLogprob> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  int events = 0;
  Event last;
  bool finished = false;
};

inline Outcome drain(RequestHandle& h,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(60000)) {
  Outcome o;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = h.next(std::chrono::milliseconds(100));
    if (!ev) continue;
    ++o.events;
    o.tokens.insert(o.tokens.end(), ev->tokens.begin(), ev->tokens.end());
    o.text += ev->text;
    o.logprobs.insert(o.logprobs.end(), ev->logprobs.begin(), ev->logprobs.end());
    o.top_logprobs.insert(o.top_logprobs.end(), ev->top_logprobs.begin(), ev->top_logprobs.end());
    if (ev->finish != FinishReason::None) {
      o.last = std::move(*ev);
      o.finished = true;
      break;
    }
  }
  EXPECT_TRUE(o.finished) << "request " << h.id() << " did not finish in time";
  return o;
}

inline Request greedy(std::vector<int32_t> prompt, int32_t max_tokens) {
  Request r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0.0f;
  r.ignore_eos = true;
  return r;
}

inline std::shared_ptr<RequestHandle> submit_ok(Engine& e, Request r) {
  auto h = e.submit(std::move(r));
  EXPECT_TRUE(h.ok()) << h.status().to_string();
  return h.ok() ? *h : nullptr;
}

// Runs each request alone (one at a time) and returns the tokens.
inline std::vector<std::vector<int32_t>> run_alone(Engine& e, const std::vector<Request>& reqs) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& r : reqs) {
    auto h = submit_ok(e, r);
    out.push_back(h ? drain(*h).tokens : std::vector<int32_t>{});
  }
  return out;
}

// Submits all requests at once and returns each one's tokens.
inline std::vector<std::vector<int32_t>> run_together(Engine& e, const std::vector<Request>& reqs) {
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (const auto& r : reqs) hs.push_back(submit_ok(e, r));
  std::vector<std::vector<int32_t>> out;
  for (auto& h : hs) out.push_back(h ? drain(*h).tokens : std::vector<int32_t>{});
  return out;
}

}  // namespace autoglm::serve::testing
