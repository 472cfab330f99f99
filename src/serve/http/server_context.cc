#include "serve/http/server_context.h"

#include <cstdio>
#include <random>

namespace autoglm::serve::http {

ServerContext::ServerContext(ModelRegistry& r, ServerConfig c) : registry(r), config(std::move(c)) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(std::random_device{}()));
  run_tag_ = buf;
}

std::string ServerContext::next_request_id() {
  return run_tag_ + "-" + std::to_string(counter_.fetch_add(1) + 1);
}

void ServerContext::log(const nlohmann::ordered_json& line) {
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::lock_guard lock(log_mu_);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace autoglm::serve::http
