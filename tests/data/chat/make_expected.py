#!/usr/bin/env python3
"""Generates the reference data of kestrel's Jinja tests.

jinja_snippets.json: each snippet of jinja_snippets.txt (separated by lines
"====") rendered over SNIPPET_CONTEXT, the unit-test corpus of features.

expected_tools.json: what Hugging Face's Jinja2 renderer produces
for each shared chat template (../shared/data/templates/*.jinja) over
conversations with tools, tool calls and tool results, and the shared
conversations with add_generation_prompt false.

The environment is the one transformers builds in apply_chat_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension, its json.dumps tojson, raise_exception and
strftime_now (fixed here to 2026-11-21). The context is messages, tools,
documents=None, add_generation_prompt, bos_token "<s>", eos_token "</s>".

Every input object is passed with its keys sorted, because kestrel receives
contexts as nlohmann::json, whose objects are sorted maps: with sorted input
the two renderers see the same key order and must agree byte for byte.

Run: python3 tests/data/chat/make_expected.py  (needs jinja2; the C++ tests
only read the JSON it writes).
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "templates"))


class Raised(Exception):
    pass


def hf_environment():
    def raise_exception(message):
        raise Raised(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime(2026, 11, 21).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. \"Paris\""},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search",
        "description": "Search the web (résumé, 東京).",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}},
]

CALL_DICT = {"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
CALL_STR = {"id": "call12345", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}

CONVERSATIONS = {
    "tool_call": [
        {"role": "system", "content": "You are a helpful assistant with tools."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [CALL_DICT]},
        {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 18, \"sky\": \"clear\"}"},
    ],
    "tool_call_answered": [
        {"role": "user", "content": "Weather in Paris, please."},
        {"role": "assistant", "content": "", "tool_calls": [CALL_DICT]},
        {"role": "tool", "tool_call_id": "call12345", "content": "18 degrees, clear"},
        {"role": "assistant", "content": "It is 18 °C and clear in Paris."},
        {"role": "user", "content": "Thanks! And tomorrow?"},
    ],
    "tool_call_string_args": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL_STR]},
        {"role": "tool", "tool_call_id": "call12345", "content": "18 degrees"},
    ],
    "tools_only": [
        {"role": "user", "content": "Find me a café in 東京 \"quoted\" \\ back\\slash."},
    ],
}


def sorted_keys(x):
    return json.loads(json.dumps(x, sort_keys=True))


def render(env, source, ctx):
    try:
        return env.from_string(source).render(**ctx)
    except Raised as e:
        return {"error": str(e)}
    except Exception as e:  # a template that fails in Jinja2 must fail in kestrel too
        return {"error": str(e), "kind": type(e).__name__}


SNIPPET_CONTEXT = {
    "d": {"a": 1, "b": "x"}, "l": [3, 1, 2], "s": "Hello World",
    "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": " hi "},
                 {"role": "assistant", "content": "yo"}, {"role": "user", "content": "bye"}],
}


def snippets(env):
    text = open(os.path.join(HERE, "jinja_snippets.txt"), encoding="utf-8").read()
    if text.endswith("\n"):
        text = text[:-1]
    cases = [{"source": src, "expected": render(env, src, SNIPPET_CONTEXT)} for src in text.split("\n====\n")]
    for c in cases:
        if isinstance(c["expected"], dict) and "kind" in c["expected"]:
            print("snippet fails in Jinja2: %r: %s" % (c["source"], c["expected"]), file=sys.stderr)
    path = os.path.join(HERE, "jinja_snippets.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"context": SNIPPET_CONTEXT, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s: %d snippets" % (path, len(cases)), file=sys.stderr)


def main():
    env = hf_environment()
    snippets(env)
    shared = json.load(open(os.path.join(TEMPLATES, "expected.json")))
    names = sorted(f[:-6] for f in os.listdir(TEMPLATES) if f.endswith(".jinja"))
    conversations = dict(shared["conversations"])
    conversations.update(CONVERSATIONS)
    cases = []
    for name in names:
        source = open(os.path.join(TEMPLATES, name + ".jinja"), encoding="utf-8").read()
        plans = [(conv, False, False) for conv in shared["conversations"]]
        plans += [(conv, True, True) for conv in CONVERSATIONS]
        plans += [(conv, True, False) for conv in ("tool_call", "tools_only")]
        plans += [("multi", True, True)]
        for conv, with_tools, agp in plans:
            ctx = {"messages": conversations[conv], "tools": TOOLS if with_tools else None, "documents": None,
                   "add_generation_prompt": agp, "bos_token": shared["bos_token"], "eos_token": shared["eos_token"]}
            ctx = sorted_keys(ctx)
            cases.append({"template": name, "conversation": conv, "tools": with_tools,
                          "add_generation_prompt": agp, "expected": render(env, source, ctx)})
    out = {"generator": "make_expected.py (jinja2 %s)" % jinja2.__version__, "bos_token": shared["bos_token"],
           "eos_token": shared["eos_token"], "date": "2026-11-21", "tools": sorted_keys(TOOLS),
           "conversations": sorted_keys(conversations), "cases": cases}
    path = os.path.join(HERE, "expected_tools.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum(1 for c in cases if isinstance(c["expected"], dict))
    print("wrote %s: %d cases (%d raise)" % (path, len(cases), errors), file=sys.stderr)


if __name__ == "__main__":
    main()
