// autoglm inspect: metadata, tensor table and the optimized graph of a GGUF file.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "common.h"

namespace autoglm::cli {
namespace {

struct InspectArgs {
  ModelFlags model;  // file plus the runtime configuration, for --placement
  bool tensors = false;
  bool graph = false;
  bool placement = false;
};

int inspect(const InspectArgs& a) {
  auto f = gguf::File::open(a.model.model);
  if (!f.ok()) return report(f.status());
  const gguf::File& file = **f;
  std::printf("file      %s\nformat    GGUF v%u, %zu bytes, alignment %zu\n", a.model.model.c_str(),
              file.version(), file.file_size(), file.alignment());
  std::printf("metadata  %zu keys\n", file.metadata().size());
  for (const auto& [key, v] : file.metadata()) {
    std::printf("  %-40s %s\n", key.c_str(), v.to_string().c_str());
  }
  size_t total = 0;
  for (const auto& t : file.tensors()) total += t.bytes;
  std::printf("tensors   %zu, %.1f MiB\n", file.tensors().size(),
              static_cast<double>(total) / (1 << 20));
  if (a.tensors) {
    std::printf("  %-36s %-6s %-18s %12s\n", "name", "dtype", "shape", "bytes");
    for (const auto& t : file.tensors()) {
      std::printf("  %-36s %-6s %-18s %12zu\n", t.name.c_str(),
                  std::string(dtype_name(t.desc.dtype)).c_str(), t.desc.shape_string().c_str(),
                  t.bytes);
    }
  }
  if (a.graph) {
    auto m = model::Model::load(a.model.model);
    if (!m.ok()) return report(m.status());
    model::KvLayout kv;  // the graph's shape does not depend on the cache size
    kv.n_blocks = 16;
    kv.table_width = 16;
    auto g = (*m)->build_graph(kv);
    if (!g.ok()) return report(g.status());
    std::printf("graph     %zu nodes (symbols:", g->graph.nodes().size());
    for (const auto& s : g->graph.symbols()) std::printf(" %s", s.c_str());
    std::printf(")\n");
    for (const auto& ps : g->pass_stats) {
      std::printf("  pass %-10s %zu -> %zu nodes\n", ps.pass.c_str(), ps.nodes_before,
                  ps.nodes_after);
    }
    std::fputs(graph::dump(g->graph).c_str(), stdout);
  }
  if (a.placement) {
    auto loaded = load(a.model, /*verbose=*/false);
    if (!loaded.ok()) return report(loaded.status());
    auto cfg = a.model.resolve();
    if (!cfg.ok()) return report(cfg.status());
    if (Status st = print_precision(*cfg, loaded->session->runner(), stdout); !st.ok())
      return report(st);
    if (Status st = print_placement(loaded->session->runner(), true, stdout); !st.ok())
      return report(st);
  }
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a GGUF file's metadata, tensors and graph");
  cmd->add_option("file", a->model.model, "GGUF file")->required();
  cmd->add_flag("--tensors", a->tensors, "List every tensor (name, dtype, shape, bytes)");
  cmd->add_flag("--graph", a->graph, "Print the model's graph after optimization passes");
  cmd->add_flag("--placement", a->placement,
                "Show the precision chosen on each device and why, the device of every op, the "
                "splits, fallbacks and bytes crossing devices per decode step for the configured "
                "backend");
  a->model.add_config(*cmd);
  cmd->callback([a] { g_exit_code = inspect(*a); });
}

}  // namespace autoglm::cli
