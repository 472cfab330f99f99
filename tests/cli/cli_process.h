// Runs the built autoglm binary and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace autoglm::testing {

struct Outcome {
  int exit_code = -1;
  bool crashed = false;
  std::string output;
};

// env: "VAR=value ..." prefix; stdin_text is piped in when not empty; merge_stderr adds stderr.
inline Outcome run_cli(const std::string& args, const std::string& env = "",
                       const std::string& stdin_text = "", bool merge_stderr = true) {
  std::string cmd = env + " " AUTOGLM_BINARY_DIR "/bin/autoglm " + args +
                    (merge_stderr ? " 2>&1" : " 2>/dev/null");
  if (!stdin_text.empty()) cmd = "printf '%s' '" + stdin_text + "' | " + cmd;
  Outcome o;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return o;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) o.output.append(buf.data(), n);
  const int status = pclose(p);
  o.crashed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) >= 128);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

}  // namespace autoglm::testing
