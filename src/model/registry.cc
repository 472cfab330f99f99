#include "model/arch.h"
#include "model/archs/llama.h"

namespace autoglm::model {
namespace {

const std::vector<const Arch*>& all_archs() {
  static const LlamaArch llama;
  static const std::vector<const Arch*> archs = {&llama};
  return archs;
}

}  // namespace

const Arch* find_arch(const std::string& name) {
  for (const Arch* a : all_archs()) {
    if (a->name() == name) return a;
  }
  return nullptr;
}

std::vector<std::string> arch_names() {
  std::vector<std::string> names;
  for (const Arch* a : all_archs()) names.push_back(a->name());
  return names;
}

}  // namespace autoglm::model
