// autoglm: run, chat with, benchmark and inspect GGUF language models.
#include <CLI/CLI.hpp>

#include "commands.h"

namespace autoglm::cli {
int g_exit_code = 0;
}  // namespace autoglm::cli

int main(int argc, char** argv) {
  CLI::App app{
      "autoglm - run large language models fast on whatever hardware is here.\n"
      "Examples:\n"
      "  autoglm serve\n"
      "  autoglm run -p \"The capital of France is\" -n 32\n"
      "  autoglm chat\n"
      "  autoglm bench --json\n"
      "  autoglm inspect model.gguf --tensors"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "autoglm 0.1.0");
  autoglm::cli::add_run_command(app);
  autoglm::cli::add_chat_command(app);
  autoglm::cli::add_bench_command(app);
  autoglm::cli::add_inspect_command(app);
  autoglm::cli::add_serve_command(app);
  autoglm::cli::add_devices_command(app);
  CLI11_PARSE(app, argc, argv);
  return autoglm::cli::g_exit_code;
}
