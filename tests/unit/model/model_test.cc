#include <gtest/gtest.h>

#include "model/model.h"
#include "tiny_model.h"

namespace autoglm::model {
namespace {

Result<std::unique_ptr<Model>> load(const testing::TinyLlama& cfg) {
  return Model::load(testing::tiny_llama_file(cfg));
}

TEST(Model, ReadsLlamaHyperParameters) {
  testing::TinyLlama cfg;
  cfg.n_head = 8;
  cfg.n_head_kv = 2;
  auto m = load(cfg);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const HParams& hp = (*m)->hparams();
  EXPECT_EQ(hp.arch, "llama");
  EXPECT_EQ(hp.n_layer, 2);
  EXPECT_EQ(hp.n_embd, 64);
  EXPECT_EQ(hp.n_head, 8);
  EXPECT_EQ(hp.n_head_kv, 2);
  EXPECT_EQ(hp.head_dim, 8);
  EXPECT_EQ(hp.n_rot, 8);
  EXPECT_EQ(hp.n_vocab, testing::kTinyVocab);
  EXPECT_FLOAT_EQ(hp.rope_freq_scale, 1.0f);
}

TEST(Model, LinearRopeScalingSetsFrequencyScale) {
  testing::TinyLlama cfg;
  cfg.rope_scaling_type = "linear";
  cfg.rope_scaling_factor = 4.0f;
  auto m = load(cfg);
  ASSERT_TRUE(m.ok());
  EXPECT_FLOAT_EQ((*m)->hparams().rope_freq_scale, 0.25f);
}

TEST(Model, UnsupportedRopeScalingIsNamed) {
  testing::TinyLlama cfg;
  cfg.rope_scaling_type = "longrope";
  auto m = load(cfg);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(m.status().message().find("longrope"), std::string::npos);
}

TEST(Model, MissingTensorIsNamed) {
  testing::TinyLlama cfg;
  cfg.omit_tensor = "blk.1.ffn_up.weight";
  auto m = load(cfg);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::CorruptFile);
  EXPECT_NE(m.status().message().find("'blk.1.ffn_up.weight' is missing"), std::string::npos);
}

TEST(Model, UnknownArchitectureListsSupportedOnes) {
  testing::TinyLlama cfg;
  cfg.arch = "mamba9";
  auto m = Model::load(testing::tiny_llama_file(cfg));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::Unsupported);
  EXPECT_NE(m.status().message().find("'mamba9' is not supported (supported: llama"),
            std::string::npos)
      << m.status().message();
}

TEST(Model, GraphHasNamedNodesPerLayer) {
  auto m = load({});
  ASSERT_TRUE(m.ok());
  KvLayout kv;
  kv.n_blocks = 4;
  kv.table_width = 2;
  auto g = (*m)->build_graph(kv);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  for (const char* name : {"token_embd", "blk.0.attn_norm", "blk.1.attn_q", "blk.1.k_store",
                           "blk.1.attn", "blk.1.ffn_down", "output_norm", "output"}) {
    EXPECT_GE(g->graph.find(name), 0) << name;
  }
  EXPECT_EQ(g->graph.node(g->logits).name, "output");
  EXPECT_EQ(g->graph.symbols(), (std::vector<std::string>{"n_tokens", "n_outputs", "n_seqs"}));
  EXPECT_TRUE(graph::verify(g->graph).ok());
}

}  // namespace
}  // namespace autoglm::model
