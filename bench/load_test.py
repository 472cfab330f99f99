#!/usr/bin/env python3
"""Bounded load on a running `autoglm serve`: N concurrent streaming chat clients for D seconds.

Reports time to first token and inter-token latency (p50/p99, client side, loopback) and the
aggregate generated tokens per second. Not part of the test suite.

    python3 bench/load_test.py --url http://127.0.0.1:8080 --clients 64 --duration 60

Needs httpx (scripts/e2e.sh installs it in $AUTOGLM_HOME/e2evenv). The API key comes from
--api-key or $AUTOGLM_API_KEY.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

import httpx

PROMPTS = [
    "Write a short poem about the sea.",
    "Explain what a CPU cache is.",
    "Give three tips for learning a language.",
    "Describe a sunrise in two sentences.",
]


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def one_client(i, client, args, model, deadline, stats):
    n = 0
    while time.monotonic() < deadline:
        body = {"model": model, "stream": True, "max_tokens": args.max_tokens,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": PROMPTS[(i + n) % len(PROMPTS)]}]}
        n += 1
        start = time.monotonic()
        last = None
        try:
            async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                if r.status_code != 200:
                    stats["status"][r.status_code] = stats["status"].get(r.status_code, 0) + 1
                    await r.aread()
                    await asyncio.sleep(0.2)
                    continue
                async for line in r.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if chunk.get("usage"):
                        stats["tokens"] += chunk["usage"]["completion_tokens"]
                    if not chunk["choices"] or not chunk["choices"][0]["delta"].get("content"):
                        continue
                    now = time.monotonic()
                    if last is None:
                        stats["ttft"].append(now - start)
                    else:
                        stats["itl"].append(now - last)
                    last = now
            stats["status"][200] = stats["status"].get(200, 0) + 1
        except httpx.HTTPError as e:
            stats["errors"].append(repr(e))


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--api-key", default=os.environ.get("AUTOGLM_API_KEY", ""))
    ap.add_argument("--model", help="default: the first model of /v1/models")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--duration", type=float, default=60, help="seconds")
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.clients + 4)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=600,
                                 limits=limits) as client:
        model = args.model or (await client.get("/v1/models")).json()["data"][0]["id"]
        stats = {"ttft": [], "itl": [], "tokens": 0, "status": {}, "errors": []}
        start = time.monotonic()
        deadline = start + args.duration
        await asyncio.gather(*(one_client(i, client, args, model, deadline, stats)
                               for i in range(args.clients)))
        elapsed = time.monotonic() - start

    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    report = {
        "model": model,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests_by_status": stats["status"],
        "transport_errors": len(stats["errors"]),
        "ttft_ms": {"p50": ms(percentile(stats["ttft"], 50)),
                    "p99": ms(percentile(stats["ttft"], 99))},
        "itl_ms": {"p50": ms(percentile(stats["itl"], 50)),
                   "p99": ms(percentile(stats["itl"], 99)),
                   "mean": ms(statistics.fmean(stats["itl"])) if stats["itl"] else None},
        "generated_tokens": stats["tokens"],
        "tokens_per_s": round(stats["tokens"] / elapsed, 1),
    }
    print(json.dumps(report, indent=2))
    return 0 if not stats["errors"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
