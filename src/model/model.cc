#include "model/model.h"

#include "graph/builder.h"

namespace autoglm::model {

graph::Value Weights::get(const std::string& name) const {
  for (const auto& [n, v] : values_) {
    if (n == name) return v;
  }
  return {};
}

Result<std::unique_ptr<Model>> Model::load(const std::string& path) {
  AUTOGLM_ASSIGN_OR_RETURN(auto file, gguf::File::open(path));
  auto m = std::unique_ptr<Model>(new Model());
  m->file_ = std::move(file);
  auto arch_name = m->file_->get_string("general.architecture");
  if (!arch_name.ok()) {
    return error(ErrorCode::CorruptFile,
                 "'" + path + "' has no general.architecture: " + arch_name.status().message());
  }
  m->arch_ = find_arch(*arch_name);
  if (!m->arch_) {
    std::string names;
    for (const auto& n : arch_names()) names += (names.empty() ? "" : ", ") + n;
    return error(ErrorCode::Unsupported, "'" + path + "': model architecture '" + *arch_name +
                                             "' is not supported (supported: " + names + ")");
  }
  auto hp = m->arch_->load_hparams(*m->file_);
  if (!hp.ok()) {
    return Status(hp.status().code(), "'" + path + "': " + hp.status().message());
  }
  m->hp_ = *hp;
  m->arch_->declare_weights(m->weights_, m->hp_);
  for (const WeightSpec& spec : m->weights_) {
    const gguf::TensorInfo* t = m->file_->find_tensor(spec.name);
    if (!t) {
      if (!spec.required) continue;
      return error(ErrorCode::CorruptFile,
                   "'" + path + "': tensor '" + spec.name + "' is missing; the file is incomplete");
    }
    bool same = t->desc.n_dims == static_cast<int>(spec.dims.size());
    for (size_t i = 0; same && i < spec.dims.size(); ++i) same = t->desc.dims[i] == spec.dims[i];
    if (!same) {
      std::string want = "[";
      for (size_t i = 0; i < spec.dims.size(); ++i)
        want += (i ? ", " : "") + std::to_string(spec.dims[i]);
      return error(ErrorCode::CorruptFile, "'" + path + "': tensor '" + spec.name + "' has shape " +
                                               t->desc.shape_string() + ", expected " + want + "]");
    }
  }
  return m;
}

Result<ModelGraph> Model::build_graph(const KvLayout& layout,
                                      const graph::PassManager::Options& passes) const {
  if (layout.n_blocks <= 0 || layout.block_size <= 0 || layout.table_width <= 0) {
    return error(ErrorCode::InvalidArgument,
                 "KV layout needs positive blocks, block size and width");
  }
  ModelGraph mg;
  graph::Builder b(mg.graph);
  mg.n_tokens = mg.graph.add_symbol("n_tokens");
  mg.n_outputs = mg.graph.add_symbol("n_outputs");
  mg.n_seqs = mg.graph.add_symbol("n_seqs");
  const graph::Shape per_token = graph::Shape::of({graph::Dim::symbol(mg.n_tokens)});
  BatchView batch;
  batch.tokens = b.input("inp_tokens", DType::I32, per_token);
  batch.kv_slots = b.input("inp_kv_slots", DType::I32, per_token);
  batch.paged.positions = b.input("inp_pos", DType::I32, per_token);
  batch.paged.tok_seq = b.input("inp_tok_seq", DType::I32, per_token);
  batch.paged.block_tables = b.input(
      "inp_block_tables", DType::I32,
      graph::Shape::of({graph::Dim::of(layout.table_width), graph::Dim::symbol(mg.n_seqs)}));
  batch.out_ids =
      b.input("inp_out_ids", DType::I32, graph::Shape::of({graph::Dim::symbol(mg.n_outputs)}));

  KvView kv;
  kv.block_size = static_cast<int32_t>(layout.block_size);
  const int64_t row = hp_.n_head_kv * hp_.head_dim;
  const graph::Shape kv_shape =
      graph::Shape::of({graph::Dim::of(row), graph::Dim::of(layout.n_blocks * layout.block_size)});
  for (int64_t l = 0; l < hp_.n_layer; ++l) {
    const std::string p = "cache." + std::to_string(l);
    kv.k.push_back(b.kv_cache(p + ".k", layout.dtype, kv_shape, static_cast<int32_t>(2 * l)));
    kv.v.push_back(b.kv_cache(p + ".v", layout.dtype, kv_shape, static_cast<int32_t>(2 * l + 1)));
  }

  Weights w;
  for (const WeightSpec& spec : weights_) {
    if (const gguf::TensorInfo* t = file_->find_tensor(spec.name)) {
      w.set(spec.name, b.weight(spec.name, t->desc, t->data));
    }
  }
  AUTOGLM_ASSIGN_OR_RETURN(graph::Value logits, arch_->build(b, w, hp_, batch, kv));
  AUTOGLM_RETURN_IF_ERROR(b.status());
  mg.graph.set_outputs({logits.id});

  graph::PassManager pm = graph::PassManager::standard(passes);
  AUTOGLM_RETURN_IF_ERROR(pm.run(mg.graph));
  mg.pass_stats = pm.stats();
  // Passes renumber nodes: find the handles again by name.
  mg.tokens = mg.graph.find("inp_tokens");
  mg.positions = mg.graph.find("inp_pos");
  mg.kv_slots = mg.graph.find("inp_kv_slots");
  mg.tok_seq = mg.graph.find("inp_tok_seq");
  mg.block_tables = mg.graph.find("inp_block_tables");
  mg.out_ids = mg.graph.find("inp_out_ids");
  mg.logits = mg.graph.outputs().front();
  return mg;
}

}  // namespace autoglm::model
