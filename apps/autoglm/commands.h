// Each subcommand registers its flags and its action on the app.
#pragma once

#include <CLI/CLI.hpp>

namespace autoglm::cli {

// The action's exit code is stored here by the subcommand that ran.
extern int g_exit_code;

void add_run_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_devices_command(CLI::App& app);

}  // namespace autoglm::cli
