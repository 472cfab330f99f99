#!/usr/bin/env python3
"""Measure llama.cpp (through llama-cpp-python) on a GGUF model, with the same
protocol as `autoglm bench` (bench/compare runs both, interleaved).

Each repetition:
prefill: one eval of a P-token prompt (seeded random vocabulary ids) into an
         empty KV cache.
decode:  N greedy tokens, one token per eval, continuing after that prompt (the
         KV cache holds P to P+N-1 positions, as in `autoglm bench`); the argmax
         over the logits is included in the time.
One untimed warm-up repetition precedes the R timed ones. Flash attention off,
F16 KV cache. Run it with the venv of bench/refvenv.sh:
$AUTOGLM_HOME/refvenv/bin/python3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

try:
    import llama_cpp
    from llama_cpp import Llama
except ImportError:
    sys.exit("llama-cpp-python is not installed; run bench/refvenv.sh once to create the venv")


def default_model() -> Path:
    home = Path(os.environ.get("AUTOGLM_HOME", Path.home() / ".cache" / "autoglm"))
    return home / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def greedy_next(llm: Llama, n_vocab: int) -> int:
    ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return int(np.ctypeslib.as_array(ptr, shape=(n_vocab,)).argmax())  # [n_vocab]


def run_once(llm: Llama, prompt: list[int], n_gen: int, n_vocab: int) -> tuple[float, float]:
    """One repetition: (prefill tokens/s, decode tokens/s)."""
    llm.reset()  # the next eval drops every KV cell past n_tokens = 0
    t0 = time.perf_counter()
    llm.eval(prompt)
    prefill = len(prompt) / (time.perf_counter() - t0)
    tok = greedy_next(llm, n_vocab)
    t0 = time.perf_counter()
    for _ in range(n_gen):
        llm.eval([tok])
        tok = greedy_next(llm, n_vocab)
    return prefill, n_gen / (time.perf_counter() - t0)


def mean_std(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", type=Path, default=default_model())
    ap.add_argument("-p", "--n-prompt", type=int, default=512, help="prefill tokens (default 512)")
    ap.add_argument("-n", "--n-gen", type=int, default=64, help="decode tokens (default 64)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1234, help="seed of the random prompt ids")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    if not args.model.is_file():
        sys.exit(f"model not found: {args.model} (run scripts/fetch_model.sh)")
    if args.n_prompt < 1 or args.n_gen < 1 or args.repetitions < 1 or args.threads < 1:
        sys.exit("-p, -n, --threads and --repetitions must be >= 1")

    llm = Llama(
        model_path=str(args.model),
        n_ctx=args.n_prompt + args.n_gen + 16,
        n_batch=max(args.n_prompt, 512),
        n_ubatch=512,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        flash_attn=False,
        verbose=False,
    )
    n_vocab = llm.n_vocab()
    rng = np.random.default_rng(args.seed)
    prompt = rng.integers(0, n_vocab, size=args.n_prompt).tolist()

    run_once(llm, prompt, args.n_gen, n_vocab)
    runs = [run_once(llm, prompt, args.n_gen, n_vocab) for _ in range(args.repetitions)]
    prefill = [p for p, _ in runs]
    decode = [d for _, d in runs]
    pp_mean, pp_std = mean_std(prefill)
    tg_mean, tg_std = mean_std(decode)

    if args.json:
        print(
            json.dumps(
                {
                    "engine": "llama.cpp",
                    "prefill_tokens_per_s": round(pp_mean, 2),
                    "decode_tokens_per_s": round(tg_mean, 2),
                    "threads": args.threads,
                    "model": args.model.name,
                    "prefill_std": round(pp_std, 2),
                    "decode_std": round(tg_std, 2),
                    "n_prompt": args.n_prompt,
                    "n_gen": args.n_gen,
                    "repetitions": args.repetitions,
                    "llama_cpp_python": llama_cpp.__version__,
                }
            )
        )
    else:
        print(f"llama.cpp (llama-cpp-python {llama_cpp.__version__}) on {args.model.name}, "
              f"{args.threads} threads, {args.repetitions} repetitions")
        print(f"  prefill pp{args.n_prompt}: {pp_mean:9.2f} ± {pp_std:.2f} tokens/s")
        print(f"  decode  tg{args.n_gen}: {tg_mean:9.2f} ± {tg_std:.2f} tokens/s")


if __name__ == "__main__":
    main()
