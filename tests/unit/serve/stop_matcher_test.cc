// Stop strings split across token boundaries, held-back text, and UTF-8 safety with the
// streaming detokenizer.
#include <gtest/gtest.h>

#include "gguf/file.h"
#include "serve/stop_matcher.h"
#include "tiny_model.h"
#include "tokenizer/tokenizer.h"

namespace autoglm::serve {
namespace {

// Feeds pieces one at a time; returns everything emitted (and whether it stopped).
std::pair<std::string, bool> feed(StopMatcher& m, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    auto o = m.push(p);
    out += o.text;
    if (o.stopped) return {out, true};
  }
  return {out + m.flush(), false};
}

TEST(StopMatcher, MatchSplitAcrossPiecesIsCutAndNeverEmitted) {
  StopMatcher m({"</end>"});
  auto o1 = m.push("hello </e");
  EXPECT_EQ(o1.text, "hello ");  // "</e" might start the stop string: held
  EXPECT_FALSE(o1.stopped);
  auto o2 = m.push("n");
  EXPECT_EQ(o2.text, "");
  auto o3 = m.push("d> ignored");
  EXPECT_TRUE(o3.stopped);
  EXPECT_EQ(o3.text, "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.push("more").text, "");
}

TEST(StopMatcher, FalseStartIsReleased) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("a ST").text, "a ");
  auto o = m.push("AR");
  EXPECT_EQ(o.text, "STAR");
  EXPECT_FALSE(o.stopped);
  EXPECT_EQ(m.push("S").text, "");  // "S" may start STOP
  EXPECT_EQ(m.flush(), "S");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w"});
  auto [text, stopped] = feed(m, {"hel", "lo", " wor", "ld"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(text, "hel");
}

TEST(StopMatcher, EveryByteSplitGivesTheSameResult) {
  const std::string s = "The answer is 42.\n\nQuestion: next";
  for (size_t a = 0; a < s.size(); ++a) {
    for (size_t b = a; b < s.size(); ++b) {
      StopMatcher m({"\n\nQuestion:", "never"});
      auto [text, stopped] = feed(m, {s.substr(0, a), s.substr(a, b - a), s.substr(b)});
      ASSERT_TRUE(stopped) << a << "," << b;
      ASSERT_EQ(text, "The answer is 42.") << a << "," << b;
    }
  }
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.push("abc").text, "abc");
  StopMatcher empty_only({""});
  EXPECT_EQ(empty_only.push("abc").text, "abc");
}

TEST(StopMatcher, Utf8StopStringOverByteTokens) {
  // The tiny vocabulary is byte-level: "é" (C3 A9) and "→" (E2 86 92) arrive a byte at a time.
  auto f = gguf::File::open(testing::tiny_llama_file());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  auto tok = tokenizer::Tokenizer::from_gguf(**f);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const std::string text = "caf\xC3\xA9 \xE2\x86\x92 done";
  const auto ids = (*tok)->encode(text, false, false);
  ASSERT_GT(ids.size(), 8u);
  tokenizer::StreamDecoder dec(**tok);
  StopMatcher m({"\xE2\x86\x92"});
  std::string out;
  bool stopped = false;
  for (int32_t id : ids) {
    auto o = m.push(dec.push(id));
    out += o.text;
    if ((stopped = o.stopped)) break;
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "caf\xC3\xA9 ");
}

}  // namespace
}  // namespace autoglm::serve
