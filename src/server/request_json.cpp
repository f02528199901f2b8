// Request-body JSON parsing with a nesting limit.
#include "server/request_json.h"

#include "server/api_error.h"

namespace kestrel::server {

int json_nesting_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}') --depth;
  }
  return deepest;
}

nlohmann::json parse_request_json(std::string_view body, int max_depth) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) throw ApiError(400, "the request body is empty (expected JSON)");
  const int depth = json_nesting_depth(body);
  if (depth > max_depth) {
    throw ApiError(400, "the request JSON is nested " + std::to_string(depth) + " levels deep (limit " +
                            std::to_string(max_depth) + ")");
  }
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    std::string msg = "malformed JSON at byte ";
    msg += std::to_string(e.byte);
    msg += e.byte >= body.size() ? " (the body ends early)" : "";
    throw ApiError(400, msg);
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    throw ApiError(400, std::string("malformed JSON: ") + e.what());
  }
}

}  // namespace kestrel::server
