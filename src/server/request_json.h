// Parsing a request body into JSON with limits: an empty body, a body
// nested deeper than max_depth (checked by a scan before parsing, so a
// 10,000-deep body costs nothing), or malformed / truncated JSON is a 400
// naming the problem and the byte offset.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace kestrel::server {

int json_nesting_depth(std::string_view text);
nlohmann::json parse_request_json(std::string_view body, int max_depth = 64);

}  // namespace kestrel::server
