// Task: the event channel between an HTTP thread and the scheduler.
#include "server/task.h"

namespace kestrel::server {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Timeout: return "timeout";
    case FinishReason::Error: return "error";
    case FinishReason::None: break;
  }
  return "none";
}

std::vector<TaskEvent> Task::wait_events(std::chrono::milliseconds timeout, bool& done) {
  std::unique_lock<std::mutex> lock(m_);
  cv_.wait_for(lock, timeout, [&] { return !events_.empty() || finished_; });
  std::vector<TaskEvent> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
  events_.clear();
  done = finished_;
  return out;
}

TaskEvent Task::wait_all() {
  std::unique_lock<std::mutex> lock(m_);
  cv_.wait(lock, [&] { return finished_; });
  TaskEvent all;
  for (TaskEvent& e : events_) {
    all.text += e.text;
    for (TokenLogprob& t : e.tokens) all.tokens.push_back(std::move(t));
  }
  events_.clear();
  return all;
}

TaskSummary Task::summary() const {
  std::lock_guard<std::mutex> lock(m_);
  return summary_;
}

void Task::push(TaskEvent e) {
  {
    std::lock_guard<std::mutex> lock(m_);
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
}

void Task::finish(const TaskSummary& s) {
  {
    std::lock_guard<std::mutex> lock(m_);
    summary_ = s;
    finished_ = true;
  }
  cv_.notify_all();
}

}  // namespace kestrel::server
