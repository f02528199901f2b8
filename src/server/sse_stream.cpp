// respond_sse: the chunked event stream of a set of tasks.
#include "server/sse_stream.h"

#include <httplib.h>

namespace kestrel::server {
namespace {

struct StreamState {
  std::vector<std::shared_ptr<Task>> tasks;
  std::vector<bool> finished;
  std::shared_ptr<SseFormatter> fmt;
  bool begun = false;
  std::atomic<int>* active = nullptr;
  ~StreamState() {
    if (active) --*active;
  }
};

bool send(httplib::DataSink& sink, const std::vector<std::string>& payloads) {
  for (const std::string& p : payloads) {
    std::string line = "data: ";
    line += p;
    line += "\n\n";
    if (!sink.write(line.data(), line.size())) return false;
  }
  return true;
}

void cancel_all(StreamState& st) {
  for (auto& t : st.tasks) t->cancel();
}

}  // namespace

void respond_sse(httplib::Response& res, std::vector<std::shared_ptr<Task>> tasks, std::shared_ptr<SseFormatter> fmt,
                 std::atomic<int>* active) {
  auto st = std::make_shared<StreamState>();
  st->active = active;
  if (active) ++*active;
  st->finished.assign(tasks.size(), false);
  st->tasks = std::move(tasks);
  st->fmt = std::move(fmt);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  res.set_chunked_content_provider(
      "text/event-stream",
      [st](size_t, httplib::DataSink& sink) {
        std::vector<std::string> out;
        if (!st->begun) {
          st->begun = true;
          st->fmt->begin(out);
        }
        bool all = true;
        for (size_t i = 0; i < st->tasks.size(); ++i) {
          if (st->finished[i]) continue;
          bool done = false;
          const auto wait = std::chrono::milliseconds(all ? 50 : 0);
          for (TaskEvent& e : st->tasks[i]->wait_events(wait, done)) st->fmt->event(i, e, out);
          if (done) {
            st->finished[i] = true;
            st->fmt->finish(i, st->tasks[i]->summary(), out);
          } else {
            all = false;
          }
        }
        if (!send(sink, out)) {
          cancel_all(*st);
          return false;
        }
        if (!all) return true;
        out.clear();
        st->fmt->end(out);
        if (st->fmt->done_marker) out.emplace_back("[DONE]");
        if (!send(sink, out)) {
          cancel_all(*st);
          return false;
        }
        sink.done();
        return true;
      },
      [st](bool success) {
        if (!success) cancel_all(*st);
      });
}

}  // namespace kestrel::server
