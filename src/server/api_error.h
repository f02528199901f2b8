// Errors a request can get, as OpenAI's error object with an HTTP status:
// {"error": {"message", "type", "param", "code"}}. Thrown by the request
// parsers and routes; the HTTP layer turns them into responses.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace kestrel::server {

class ApiError : public Error {
 public:
  ApiError(int status, const std::string& message, std::string param = {})
      : Error(message), status_(status), param_(std::move(param)) {}
  int status() const { return status_; }
  const std::string& param() const { return param_; }

 private:
  int status_;
  std::string param_;
};

// A 400 naming the field.
inline ApiError bad_field(const std::string& field, const std::string& what) {
  return ApiError(400, field + ": " + what, field);
}

// OpenAI's error type name for a status ("invalid_request_error", ...).
const char* error_type_for_status(int status);
nlohmann::json error_body(int status, const std::string& message, const std::string& param = {});

}  // namespace kestrel::server
