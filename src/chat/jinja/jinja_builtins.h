// Internal plumbing shared by the builtin files: the filter function type,
// the sequence filters' table (jinja_filters_seq.cpp) merged into the main
// filter registry (jinja_filters.cpp), and small helpers both use.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chat/jinja/jinja_interp.h"

namespace kestrel::jinja {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);

const std::vector<std::pair<const char*, FilterFn>>& sequence_filters();

// `attribute="a.b.0"` lookups of sort/map/selectattr/...: each dotted part
// an item lookup (integers as indexes), as Jinja2's make_attrgetter.
Value get_path(Interpreter& in, const Value& v, const Value& attribute);

std::vector<std::string> py_splitlines(const std::string& s);

// Jinja2's HTML escaping (escape/e, forceescape).
std::string html_escape(std::string_view s);

// Python's json.dumps arguments as HF's tojson takes them.
JsonFormat json_format(const CallArgs& args, size_t first_pos);

}  // namespace kestrel::jinja
