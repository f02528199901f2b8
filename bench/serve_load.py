#!/usr/bin/env python3
"""serve-load: concurrent streaming clients against an OpenAI-style server.

Each client sends one streamed /v1/completions request: a prompt of token ids
(a shared system prefix plus a per-client part, so the token counts are exact
on any server and the prefix cache can be measured), asks for a fixed number
of tokens with ignore_eos, and records the time to the first token and the
time between tokens. Prints one row per concurrency level: aggregate
generated tokens/s, p50/p99 time to first token, p50/p99 time between
tokens. Works against `kestrel serve` and llama.cpp's `llama-server` alike.

  bench/serve_load.py --url http://127.0.0.1:8080 --streams 1,4,16,32 \
      --prompt-tokens 128 --prefix-tokens 64 --gen-tokens 128 [--json]

Standard library only (no PyPI)."""
import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def one_stream(url, prompt, n_gen, out, api_key):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
    body = json.dumps({"prompt": prompt, "max_tokens": n_gen, "stream": True, "temperature": 0,
                       "ignore_eos": True, "cache_prompt": True})
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    t0 = time.perf_counter()
    conn.request("POST", "/v1/completions", body, headers)
    resp = conn.getresponse()
    if resp.status != 200:
        out.append({"error": f"HTTP {resp.status}: {resp.read()[:200]!r}"})
        return
    times = []
    buf = b""
    while True:
        chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(1)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            line, buf = buf.split(b"\n\n", 1)
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                continue
            j = json.loads(data)
            ch = j.get("choices") or []
            if ch and ch[0].get("text"):
                times.append(time.perf_counter())
    conn.close()
    if not times:
        out.append({"error": "no tokens"})
        return
    out.append({"ttft": times[0] - t0, "itl": [b - a for a, b in zip(times, times[1:])],
                "n": len(times), "end": times[-1], "start": t0})


def run_level(args, n_streams, rng, vocab_lo, vocab_hi):
    prefix = [rng.randrange(vocab_lo, vocab_hi) for _ in range(args.prefix_tokens)]
    prompts = [prefix + [rng.randrange(vocab_lo, vocab_hi) for _ in range(args.prompt_tokens - args.prefix_tokens)]
               for _ in range(n_streams)]
    results = []
    threads = [threading.Thread(target=one_stream, args=(args.url, p, args.gen_tokens, results, args.api_key))
               for p in prompts]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    errors = [r["error"] for r in results if "error" in r]
    ok = [r for r in results if "error" not in r]
    n_tokens = sum(r["n"] for r in ok)
    ttft = [r["ttft"] for r in ok]
    itl = [x for r in ok for x in r["itl"]]
    return {"streams": n_streams, "errors": len(errors), "first_error": errors[0] if errors else None,
            "tokens": n_tokens, "wall_s": wall, "agg_tps": n_tokens / wall if wall > 0 else 0,
            "ttft_p50_ms": 1000 * percentile(ttft, 50), "ttft_p99_ms": 1000 * percentile(ttft, 99),
            "itl_p50_ms": 1000 * percentile(itl, 50), "itl_p99_ms": 1000 * percentile(itl, 99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--streams", default="1,4,16,32")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--prefix-tokens", type=int, default=64)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--vocab", default="1000:30000", help="token id range for the random prompt tokens")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.vocab.split(":"))
    rng = random.Random(args.seed)
    one_stream(args.url, [rng.randrange(lo, hi) for _ in range(8)], 4, [], args.api_key)  # warm-up
    rows = []
    for n in (int(x) for x in args.streams.split(",")):
        rows.append(run_level(args, n, rng, lo, hi))
        r = rows[-1]
        if not args.json:
            print(f"{args.label:>12} streams {n:3d}: {r['agg_tps']:8.1f} t/s  TTFT p50 {r['ttft_p50_ms']:8.1f} "
                  f"p99 {r['ttft_p99_ms']:8.1f} ms  ITL p50 {r['itl_p50_ms']:7.1f} p99 {r['itl_p99_ms']:7.1f} ms"
                  + (f"  errors {r['errors']} ({r['first_error']})" if r["errors"] else ""), flush=True)
    if args.json:
        json.dump({"label": args.label, "rows": rows}, sys.stdout, indent=1)
        print()
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
