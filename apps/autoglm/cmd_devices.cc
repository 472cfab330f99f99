// autoglm devices: every backend's device with its properties and op × dtype support table.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "hal/plugin_loader.h"
#include "hal/registry.h"
#include "hal/support_table.h"
#include "runtime/session.h"

namespace autoglm::cli {
namespace {

struct DevicesArgs {
  bool json = false;
};

nlohmann::json support_json(const hal::Device& d) {
  nlohmann::json s = nlohmann::json::object();
  for (const hal::OpSupport& op : hal::support_table(d)) {
    nlohmann::json types = nlohmann::json::array();
    for (DType t : op.dtypes) types.push_back(std::string(dtype_name(t)));
    s[std::string(graph::op_name(op.op))] = types;
  }
  return s;
}

// The document docs/schemas/devices.schema.json describes.
nlohmann::json devices_json() {
  nlohmann::json doc;
  doc["schema_version"] = 1;
  doc["devices"] = nlohmann::json::array();
  doc["unavailable"] = nlohmann::json::array();
  for (const hal::BackendEntry& b : hal::Registry::global().backends()) {
    auto dev = b.create({});
    if (!dev.ok()) {
      doc["unavailable"].push_back({{"backend", b.name}, {"error", dev.status().message()}});
      continue;
    }
    const hal::DeviceProps p = (*dev)->props();
    doc["devices"].push_back({{"backend", b.name},
                              {"priority", b.priority},
                              {"name", p.name},
                              {"kind", p.kind},
                              {"description", p.description},
                              {"memory_bytes", p.memory_bytes},
                              {"alignment", p.alignment},
                              {"isa", p.isa},
                              {"threads", p.threads},
                              {"buffer_type", (*dev)->buffer_type().name()},
                              {"support", support_json(**dev)}});
  }
  doc["plugins"] = nlohmann::json::array();
  for (const hal::PluginOutcome& o : hal::Registry::global().plugins()) {
    nlohmann::json j = {{"path", o.path}, {"loaded", o.loaded}};
    if (o.loaded) j["name"] = o.name;
    if (!o.loaded) j["error"] = o.message;
    doc["plugins"].push_back(j);
  }
  return doc;
}

void print_text(const nlohmann::json& doc) {
  for (const auto& d : doc["devices"]) {
    std::printf("%s (priority %d)\n", d["backend"].get<std::string>().c_str(),
                d["priority"].get<int>());
    std::printf("  kind         %s\n", d["kind"].get<std::string>().c_str());
    std::printf("  device       %s\n", d["description"].get<std::string>().c_str());
    std::printf("  memory       %.1f GiB\n",
                static_cast<double>(d["memory_bytes"].get<size_t>()) / (1u << 30));
    std::printf("  alignment    %zu bytes (%s)\n", d["alignment"].get<size_t>(),
                d["buffer_type"].get<std::string>().c_str());
    std::printf("  isa/driver   %s\n", d["isa"].get<std::string>().c_str());
    std::printf("  threads      %d\n", d["threads"].get<int>());
    std::printf("  supports\n");
    for (const auto& [op, types] : d["support"].items()) {
      std::string list;
      for (const auto& t : types) list += (list.empty() ? "" : " ") + t.get<std::string>();
      std::printf("    %-10s %s\n", op.c_str(), list.empty() ? "-" : list.c_str());
    }
  }
  for (const auto& u : doc["unavailable"]) {
    std::printf("%s: unavailable: %s\n", u["backend"].get<std::string>().c_str(),
                u["error"].get<std::string>().c_str());
  }
  for (const auto& p : doc["plugins"]) {
    std::printf("plugin %s: %s\n", p["path"].get<std::string>().c_str(),
                p["loaded"].get<bool>() ? ("loaded " + p["name"].get<std::string>()).c_str()
                                        : ("skipped: " + p["error"].get<std::string>()).c_str());
  }
}

int devices(const DevicesArgs& a) {
  runtime::register_builtin_backends();  // built-ins and plugins
  const nlohmann::json doc = devices_json();
  if (a.json) {
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    print_text(doc);
  }
  return 0;
}

}  // namespace

void add_devices_command(CLI::App& app) {
  auto a = std::make_shared<DevicesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "devices", "List every device (built-in and plugin backends) and what it can run");
  cmd->add_flag("--json", a->json,
                "Print JSON (schema: docs/schemas/devices.schema.json) instead of text");
  cmd->callback([a] { g_exit_code = devices(*a); });
}

}  // namespace autoglm::cli
