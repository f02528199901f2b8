// load_server_model: the model, an engine sized for the slots, the chat
// template (chat_setup.h) and the scheduler.
#include <filesystem>

#include "server/chat_setup.h"
#include "server/http_server.h"

namespace kestrel::server {

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
  st.chat_template = load_chat_template(*st.model, o.chat_template);
  st.tool_format = chat::detect_tool_call_format(st.chat_template->source());
  st.scheduler = std::make_unique<Scheduler>(*st.engine, o.n_parallel, o.queue_max);
  st.scheduler->start();
  st.model_id = o.alias.empty() ? std::filesystem::path(o.model_path).filename().string() : o.alias;
  st.ready.store(true);
}

}  // namespace kestrel::server
