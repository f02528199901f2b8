// Server-sent events: streams the events of one or more tasks as
// `data: {json}` lines, then `data: [DONE]` (OpenAI routes). A write that
// fails (the client went away) cancels the tasks, which frees their slots at
// the scheduler's next step.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "server/task.h"

namespace httplib { struct Response; }

namespace kestrel::server {

// Formats one route's chunks; the payloads it appends are sent in order.
class SseFormatter {
 public:
  virtual ~SseFormatter() = default;
  virtual void begin(std::vector<std::string>& out) { (void)out; }
  virtual void event(size_t task, const TaskEvent& e, std::vector<std::string>& out) = 0;
  virtual void finish(size_t task, const TaskSummary& s, std::vector<std::string>& out) = 0;
  virtual void end(std::vector<std::string>& out) { (void)out; }
  bool done_marker = true;  // send `data: [DONE]` last
};

// `active` (optional) counts streams still being written: it is raised
// here and lowered when the stream's last byte is out or the client is gone,
// so a graceful shutdown can wait for streams to drain.
void respond_sse(httplib::Response& res, std::vector<std::shared_ptr<Task>> tasks, std::shared_ptr<SseFormatter> fmt,
                 std::atomic<int>* active = nullptr);

}  // namespace kestrel::server
