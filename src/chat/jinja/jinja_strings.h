// Python's str operations over UTF-8 bytes.
//
// Python strings index, slice, measure and strip by code point, so the
// helpers here decode UTF-8 when a string is not plain ASCII. Bytes that are
// not valid UTF-8 (a hostile template can contain any bytes) decode to
// U+DC80..U+DCFF, as Python's surrogateescape does, so that re-encoding gives
// the original bytes back and nothing is lost or crashes. Case mapping is
// ASCII only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kestrel::jinja {

std::vector<uint32_t> utf8_decode(std::string_view s);
void utf8_append(std::string& out, uint32_t cp);
std::string utf8_encode(const std::vector<uint32_t>& cps, size_t begin, size_t end);
size_t utf8_length(std::string_view s);
bool is_ascii(std::string_view s);

bool py_isspace(uint32_t cp);
// strip/lstrip/rstrip; chars == nullptr means whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// str.split(sep, maxsplit); sep == nullptr splits on whitespace runs.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, long long maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::string* sep, long long maxsplit);
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, long long count);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);  // str.title()
// Code-point index of the first (last) occurrence at or after start, or -1.
long long py_find(std::string_view s, std::string_view sub, bool reverse);
long long py_count(std::string_view s, std::string_view sub);
// Python's repr() of a str: quotes chosen as Python does, escapes added.
std::string py_str_repr(std::string_view s);

}  // namespace kestrel::jinja
