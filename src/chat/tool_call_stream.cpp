// The StreamingParser state machine: it walks the answer left to right and
// splits it into reasoning (<think>...</think>), content and tool calls.
// Every decision waits until the text that follows can no longer change it
// (a possible marker prefix, an unclosed JSON value, whitespace that may sit
// next to a call), so feeding the text in any split gives the same message
// as feeding it at once, which is what parse_assistant_output() does.
//
// Whitespace rules (following llama.cpp's parsers): reasoning is stripped;
// content loses its leading whitespace (at the start and after </think> or a
// call) and the whitespace right before a call. With no parsing asked for,
// content is the text unchanged.
#include <utility>

#include "chat/tool_calls.h"

namespace kestrel::chat {

namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
constexpr std::string_view kGraniteOpen = "<|tool_call|>";
constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest tail of s that is a proper prefix of marker: text
// that may still turn into the marker when more arrives.
std::size_t partial_tail(std::string_view s, std::string_view marker) {
  std::size_t n = s.size() < marker.size() - 1 ? s.size() : marker.size() - 1;
  for (; n > 0; --n)
    if (s.substr(s.size() - n) == marker.substr(0, n)) return n;
  return 0;
}

void emit(std::vector<Delta>& out, Delta::Kind kind, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == kind) {
    out.back().text += text;
    return;
  }
  Delta d{};
  d.kind = kind;
  d.text = std::string(text);
  out.push_back(std::move(d));
}

}  // namespace

StreamingParser::StreamingParser(const ParseOptions& opts) : opts_(opts) {
  if (opts_.parse_tool_calls) {
    switch (opts_.format) {
      case ToolCallFormat::Hermes: markers_ = {kHermesOpen}; break;
      case ToolCallFormat::Mistral: markers_ = {kMistralOpen}; break;
      case ToolCallFormat::Granite: markers_ = {kGraniteOpen}; break;
      case ToolCallFormat::Llama3Json: markers_ = {kPythonTag}; break;
      case ToolCallFormat::None: break;
    }
  }
  hold_ws_ = !markers_.empty();
  drop_leading_ = hold_ws_ || opts_.parse_reasoning;
}

std::vector<Delta> StreamingParser::feed(std::string_view text) {
  std::vector<Delta> out;
  if (finished_) return out;
  buf_ += text;
  while (step(false, out)) {
  }
  return out;
}

std::vector<Delta> StreamingParser::finish() {
  std::vector<Delta> out;
  if (finished_) return out;
  while (step(true, out)) {
  }
  // Trailing reasoning whitespace is stripped; trailing content whitespace
  // stays unless a call (or nothing) came before it.
  reasoning_ws_.clear();
  if (!drop_leading_) {
    message_.content += ws_pending_;
    emit(out, Delta::Content, ws_pending_);
  }
  ws_pending_.clear();
  finished_ = true;
  return out;
}

std::size_t StreamingParser::skip_ws(std::size_t p) const {
  while (p < buf_.size() && is_ws(buf_[p])) ++p;
  return p;
}

// Returns true while it made progress; false when it needs more text (or,
// with final, when everything is consumed).
bool StreamingParser::step(bool final, std::vector<Delta>& out) {
  switch (mode_) {
    case Mode::Start: return step_start(final);
    case Mode::Reasoning: return step_reasoning(final, out);
    case Mode::Content: return step_content(final, out);
    case Mode::TaggedCall: return step_tagged(final, out);
    case Mode::AfterTagged: return step_after_tagged(final);
    case Mode::ArrayCall: return step_array(final, out);
    case Mode::BareCalls: return step_bare(final, out);
  }
  return false;
}

bool StreamingParser::step_start(bool final) {
  if (!opts_.parse_reasoning) {
    mode_ = Mode::Content;
    return true;
  }
  if (opts_.starts_in_reasoning) {
    mode_ = Mode::Reasoning;
    maybe_open_tag_ = true;
    return true;
  }
  // Leading whitespace is dropped either way, so it can be consumed now.
  pos_ = skip_ws(pos_);
  std::string_view rest = std::string_view(buf_).substr(pos_);
  if (rest.starts_with(kThinkOpen)) {
    pos_ += kThinkOpen.size();
    mode_ = Mode::Reasoning;
    return true;
  }
  if (!final && kThinkOpen.starts_with(rest)) return false;  // may still be <think>
  mode_ = Mode::Content;
  return true;
}

bool StreamingParser::step_reasoning(bool final, std::vector<Delta>& out) {
  std::string_view all(buf_);
  if (maybe_open_tag_) {
    // The prompt opened <think>, yet some models write it again.
    const std::size_t p = skip_ws(pos_);
    std::string_view rest = all.substr(p);
    if (rest.starts_with(kThinkOpen)) {
      pos_ = p + kThinkOpen.size();
      maybe_open_tag_ = false;
    } else if (!final && kThinkOpen.starts_with(rest)) {
      return false;
    } else {
      maybe_open_tag_ = false;
    }
  }
  const std::size_t close = all.find(kThinkClose, pos_);
  if (close != std::string_view::npos) {
    add_reasoning(all.substr(pos_, close - pos_), out);
    reasoning_ws_.clear();
    pos_ = close + kThinkClose.size();
    mode_ = Mode::Content;
    drop_leading_ = true;
    return true;
  }
  std::string_view rest = all.substr(pos_);
  const std::size_t hold = final ? 0 : partial_tail(rest, kThinkClose);
  add_reasoning(rest.substr(0, rest.size() - hold), out);
  pos_ = buf_.size() - hold;
  return false;
}

bool StreamingParser::step_content(bool final, std::vector<Delta>& out) {
  std::string_view all(buf_);
  if (pos_ >= all.size()) return false;
  if (opts_.format == ToolCallFormat::Llama3Json && hold_ws_ && content_empty_) {
    // Llama 3 writes its calls as the bare answer: an answer opening with
    // `{` is held until it is clear whether it is nothing but calls.
    const std::size_t p = skip_ws(pos_);
    add_content(all.substr(pos_, p - pos_), out);
    pos_ = p;
    if (p == all.size()) return false;
    if (all[p] == '{') {
      start_region(p, p, Mode::BareCalls);
      return true;
    }
  }
  std::size_t best = std::string_view::npos, best_len = 0;
  for (std::string_view m : markers_) {
    const std::size_t f = all.find(m, pos_);
    if (f < best) best = f, best_len = m.size();
  }
  if (best != std::string_view::npos) {
    add_content(all.substr(pos_, best - pos_), out);
    const std::string_view m = all.substr(best, best_len);
    const Mode mode = m == kHermesOpen ? Mode::TaggedCall : m == kPythonTag ? Mode::BareCalls : Mode::ArrayCall;
    start_region(best, best + best_len, mode);
    return true;
  }
  std::string_view rest = all.substr(pos_);
  std::size_t hold = 0;
  if (!final)
    for (std::string_view m : markers_) {
      const std::size_t h = partial_tail(rest, m);
      if (h > hold) hold = h;
    }
  add_content(rest.substr(0, rest.size() - hold), out);
  pos_ = all.size() - hold;
  return false;
}

void StreamingParser::start_region(std::size_t region_start, std::size_t after_marker, Mode mode) {
  // Whitespace before the region stays pending: a call drops it, a fall back
  // to content keeps it.
  region_start_ = region_start;
  pos_ = after_marker;
  mode_ = mode;
  js_ = JsonScan{};
  key_checked_ = false;
  bare_calls_.clear();
}

// The region [region_start_, end) turned out not to be a call: it is content.
void StreamingParser::fall_back(std::size_t end, std::vector<Delta>& out) {
  add_content(std::string_view(buf_).substr(region_start_, end - region_start_), out);
  bare_calls_.clear();
  js_ = JsonScan{};
  pos_ = end;
  mode_ = Mode::Content;
}

StreamingParser::ScanResult StreamingParser::scan(std::size_t& at, bool stop_at_lt) {
  for (; js_.pos < buf_.size(); ++js_.pos) {
    const char c = buf_[js_.pos];
    if (js_.in_string) {
      if (js_.escape) js_.escape = false;
      else if (c == '\\') js_.escape = true;
      else if (c == '"') js_.in_string = false;
      continue;
    }
    if (c == '"') {
      js_.in_string = true;
    } else if (c == '{' || c == '[') {
      ++js_.depth;
    } else if (c == '}' || c == ']') {
      if (--js_.depth <= 0) {
        at = ++js_.pos;
        return ScanResult::Closed;
      }
    } else if (c == '<' && stop_at_lt) {
      at = js_.pos;  // not JSON: maybe the closing tag of an unfinished call
      return ScanResult::StrayLt;
    }
  }
  return ScanResult::Incomplete;
}

// Hermes: after <tool_call>, one JSON object, then (optionally) </tool_call>.
bool StreamingParser::step_tagged(bool final, std::vector<Delta>& out) {
  std::string_view all(buf_);
  if (!js_.started) {
    const std::size_t p = skip_ws(pos_);
    if (p == all.size()) {
      if (final) fall_back(p, out);
      return final;
    }
    if (all[p] != '{') {
      fall_back(pos_, out);  // just the marker; what follows is content again
      return true;
    }
    js_.started = true;
    js_.start = js_.pos = p;
  }
  std::size_t at = 0;
  switch (scan(at, /*stop_at_lt=*/true)) {
    case ScanResult::Closed: {
      ToolCall call;
      if (!make_call(all.substr(js_.start, at - js_.start), false, call)) {
        fall_back(at, out);
        return true;
      }
      std::vector<ToolCall> calls;
      calls.push_back(std::move(call));
      commit_calls(std::move(calls), out);
      pos_ = at;
      mode_ = Mode::AfterTagged;
      return true;
    }
    case ScanResult::StrayLt: {
      std::string_view rest = all.substr(at);
      if (rest.starts_with(kHermesClose)) {
        fall_back(at + kHermesClose.size(), out);  // a malformed call, tags and all
      } else if (!final && kHermesClose.starts_with(rest)) {
        return false;
      } else {
        fall_back(at, out);
      }
      return true;
    }
    case ScanResult::Incomplete: break;
  }
  if (final) fall_back(all.size(), out);  // unterminated and unparsable
  return final;
}

bool StreamingParser::step_after_tagged(bool final) {
  std::string_view all(buf_);
  const std::size_t p = skip_ws(pos_);
  std::string_view rest = all.substr(p);
  if (rest.starts_with(kHermesClose)) {
    pos_ = p + kHermesClose.size();
  } else if (!final && kHermesClose.starts_with(rest)) {
    return false;
  } else {
    pos_ = p;  // no closing tag: the whitespace after a call is dropped anyway
  }
  mode_ = Mode::Content;
  return true;
}

// Mistral / Granite: after the marker, a JSON array of calls (or one object).
bool StreamingParser::step_array(bool final, std::vector<Delta>& out) {
  std::string_view all(buf_);
  if (!js_.started) {
    const std::size_t p = skip_ws(pos_);
    if (p == all.size()) {
      if (final) fall_back(p, out);
      return final;
    }
    if (all[p] != '[' && all[p] != '{') {
      fall_back(pos_, out);
      return true;
    }
    js_.started = true;
    js_.start = js_.pos = p;
  }
  std::size_t at = 0;
  if (scan(at, false) != ScanResult::Closed) {
    if (final) fall_back(all.size(), out);
    return final;
  }
  std::string_view text = all.substr(js_.start, at - js_.start);
  std::vector<ToolCall> calls;
  bool ok = true;
  if (text.front() == '{') {
    calls.emplace_back();
    ok = make_call(text, false, calls.back());
  } else {
    // Split the array into its elements with the same scanner, then check
    // each one; one bad element makes the whole array content.
    const JsonScan saved = js_;
    std::size_t p = js_.start + 1;
    for (;;) {
      while (p < at && (is_ws(all[p]) || all[p] == ',')) ++p;
      if (p >= at - 1) break;
      if (all[p] != '{') {
        ok = false;
        break;
      }
      js_ = JsonScan{};
      js_.started = true;
      js_.start = js_.pos = p;
      std::size_t end = 0;
      if (scan(end, false) != ScanResult::Closed || end > at) {
        ok = false;
        break;
      }
      calls.emplace_back();
      if (!make_call(all.substr(p, end - p), false, calls.back())) {
        ok = false;
        break;
      }
      p = end;
    }
    js_ = saved;
  }
  if (!ok) {
    fall_back(at, out);
    return true;
  }
  commit_calls(std::move(calls), out);
  pos_ = at;
  mode_ = Mode::Content;
  return true;
}

// Llama 3: the rest of the answer must be call objects separated by `;` or
// whitespace. Calls are collected and only committed at the end.
bool StreamingParser::step_bare(bool final, std::vector<Delta>& out) {
  std::string_view all(buf_);
  for (;;) {
    if (!js_.started) {
      std::size_t p = pos_;
      while (p < all.size() && (is_ws(all[p]) || all[p] == ';')) ++p;
      pos_ = p;
      if (p == all.size()) break;
      if (all[p] != '{') {
        fall_back(p, out);
        return true;
      }
      js_ = JsonScan{};
      js_.started = true;
      js_.start = js_.pos = p;
      key_checked_ = false;
    }
    if (!key_checked_) {
      // `{` opening prose ("{curly} words") gives up early: an object's
      // first token is a key or its closing brace.
      const std::size_t q = skip_ws(js_.start + 1);
      if (q == all.size()) break;
      if (all[q] != '"' && all[q] != '}') {
        fall_back(q, out);
        return true;
      }
      key_checked_ = true;
    }
    std::size_t at = 0;
    if (scan(at, false) != ScanResult::Closed) break;
    ToolCall call;
    if (!make_call(all.substr(js_.start, at - js_.start), true, call)) {
      fall_back(at, out);
      return true;
    }
    bare_calls_.push_back(std::move(call));
    js_ = JsonScan{};
    pos_ = at;
  }
  if (!final) return false;
  if (js_.started || bare_calls_.empty()) {
    fall_back(all.size(), out);
    return true;
  }
  std::vector<ToolCall> calls = std::move(bare_calls_);
  bare_calls_.clear();
  commit_calls(std::move(calls), out);
  pos_ = all.size();
  mode_ = Mode::Content;
  return true;
}

void StreamingParser::commit_calls(std::vector<ToolCall> calls, std::vector<Delta>& out) {
  ws_pending_.clear();  // whitespace before a call is not content
  drop_leading_ = true;
  content_empty_ = false;
  for (ToolCall& c : calls) {
    bool taken = c.id.empty();
    for (const auto& prev : message_.tool_calls) taken = taken || prev.id == c.id;
    if (taken) c.id = next_id();
    Delta start{};
    start.kind = Delta::ToolCallStart;
    start.index = static_cast<int>(message_.tool_calls.size());
    start.id = c.id;
    start.name = c.name;
    Delta args{};
    args.kind = Delta::ToolCallArguments;
    args.text = c.arguments;
    args.index = start.index;
    out.push_back(std::move(start));
    out.push_back(std::move(args));
    message_.tool_calls.push_back(std::move(c));
  }
}

void StreamingParser::add_content(std::string_view s, std::vector<Delta>& out) {
  std::string text;
  for (char c : s) {
    if (is_ws(c)) {
      if (drop_leading_) continue;
      if (hold_ws_) ws_pending_ += c;
      else text += c;
      continue;
    }
    text += ws_pending_;
    ws_pending_.clear();
    text += c;
    drop_leading_ = false;
    content_empty_ = false;
  }
  message_.content += text;
  emit(out, Delta::Content, text);
}

void StreamingParser::add_reasoning(std::string_view s, std::vector<Delta>& out) {
  std::string text;
  for (char c : s) {
    if (is_ws(c)) {
      if (reasoning_started_) reasoning_ws_ += c;
      continue;
    }
    text += reasoning_ws_;
    reasoning_ws_.clear();
    text += c;
    reasoning_started_ = true;
  }
  message_.reasoning_content += text;
  emit(out, Delta::Reasoning, text);
}

}  // namespace kestrel::chat
