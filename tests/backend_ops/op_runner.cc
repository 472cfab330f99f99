#include "op_runner.h"

#include <cstring>

namespace autoglm::testing {

Result<std::vector<HostTensor>> OpRunner::run(hal::Device& dev) const {
  const std::vector<graph::NodeId> order = g_.topo_order();
  std::vector<hal::TensorRef> refs(g_.nodes().size());
  std::vector<std::unique_ptr<hal::Buffer>> buffers;
  for (graph::NodeId id : order) {
    const graph::Node& n = g_.node(id);
    hal::TensorRef& t = refs[id];
    t.desc = g_.resolve(id, {});
    if (n.op == graph::OpKind::Weight) {
      t.data = const_cast<void*>(n.weight_data);
      continue;
    }
    if (n.op == graph::OpKind::KvStore) {
      t.data = refs[n.inputs[0]].data;
      continue;
    }
    AUTOGLM_ASSIGN_OR_RETURN(auto buf, dev.buffer_type().allocate(t.desc.bytes()));
    t.data = buf->data();
    buffers.push_back(std::move(buf));
    auto in = inputs_.find(id);
    if (in != inputs_.end()) {
      if (in->second.bytes.size() != t.desc.bytes()) {
        return error(ErrorCode::InvalidArgument,
                     "test input for '" + n.name + "' has the wrong size");
      }
      std::memcpy(t.data, in->second.bytes.data(), in->second.bytes.size());
    }
  }
  hal::SplitExec split;
  for (graph::NodeId id : order) {
    const graph::Node& n = g_.node(id);
    if (n.op == graph::OpKind::Input || n.op == graph::OpKind::Weight ||
        n.op == graph::OpKind::KvCache) {
      continue;
    }
    hal::NodeExec ne;
    ne.node = &n;
    ne.out = refs[id];
    for (graph::NodeId in : n.inputs) ne.in.push_back(in >= 0 ? refs[in] : hal::TensorRef{});
    split.nodes.push_back(std::move(ne));
  }
  auto stream = dev.create_stream();
  AUTOGLM_RETURN_IF_ERROR(stream->compute(split));
  stream->synchronize();
  std::vector<HostTensor> out;
  for (graph::NodeId id : g_.outputs()) {
    const auto* p = static_cast<const uint8_t*>(refs[id].data);
    out.push_back({std::vector<uint8_t>(p, p + refs[id].desc.bytes())});
  }
  return out;
}

}  // namespace autoglm::testing
