// load_server_model: the model, an engine sized for the slots, the chat
// template (--chat-template name or file, else the GGUF's, else chatml) and
// the scheduler.
#include <cstdio>
#include <filesystem>

#include "core/file_io.h"
#include "server/http_server.h"

namespace kestrel::server {
namespace {

std::string template_source(const ServerState& st) {
  const std::string& choice = st.opt.chat_template;
  if (!choice.empty()) {
    const auto names = chat::ChatTemplate::builtin_names();
    if (std::find(names.begin(), names.end(), choice) != names.end()) return chat::ChatTemplate::builtin_source(choice);
    std::error_code ec;
    if (std::filesystem::is_regular_file(choice, ec)) return read_text_file(choice);
    (void)chat::ChatTemplate::builtin_source(choice);  // throws, listing the built-in names
  }
  if (auto t = st.model->gguf().get_string("tokenizer.chat_template")) return std::string(*t);
  std::fprintf(stderr, "warning: the model has no chat template; using chatml\n");
  return chat::ChatTemplate::builtin_source("chatml");
}

}  // namespace

void load_server_model(ServerState& st) {
  const ServerOptions& o = st.opt;
  st.model = Model::load(o.model_path, o.threads);
  const ModelConfig& c = st.model->config();
  const int64_t total = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(4096, c.n_ctx_train * o.n_parallel);
  const int64_t per_slot = total / o.n_parallel;
  if (per_slot < 8) {
    throw Error("-c " + std::to_string(total) + " over " + std::to_string(o.n_parallel) +
                " slots leaves " + std::to_string(per_slot) + " positions per slot; give a larger -c");
  }
  EngineParams ep;
  ep.n_seq_max = o.n_parallel;
  ep.n_ctx_seq = per_slot;
  ep.page_slots = 64;
  // Each slot's last page may be partly used: room for that on top of -c,
  // so the slots never run out of pages (the prefix cache gets the rest).
  ep.n_ctx = total + static_cast<int64_t>(o.n_parallel) * ep.page_slots;
  ep.n_batch = o.n_batch;
  ep.n_threads = o.threads;
  ep.prefix_cache = o.prefix_cache;
  st.engine = std::make_unique<Engine>(*st.model, ep);
  const Tokenizer& tok = st.model->tokenizer();
  const std::string bos = tok.bos() >= 0 ? std::string(tok.token_text(tok.bos())) : std::string();
  const std::string eos = tok.eos() >= 0 ? std::string(tok.token_text(tok.eos())) : std::string();
  st.chat_template = std::make_unique<chat::ChatTemplate>(template_source(st), bos, eos);
  st.tool_format = chat::detect_tool_call_format(st.chat_template->source());
  st.scheduler = std::make_unique<Scheduler>(*st.engine, o.n_parallel, o.queue_max);
  st.scheduler->start();
  st.model_id = o.alias.empty() ? std::filesystem::path(o.model_path).filename().string() : o.alias;
  st.ready.store(true);
}

}  // namespace kestrel::server
