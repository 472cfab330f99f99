#!/usr/bin/env python3
"""Generate llama.cpp reference goldens for the default model.

Uses llama-cpp-python (llama.cpp's CPU backend) as the independent reference
for Open-AutoGLM's tokenizer and forward pass. Writes, into tests/reference/goldens/:

  tokens.json          every string of corpus.json tokenized (no BOS, special tokens parsed)
  greedy.json          64 greedy (argmax) tokens for fixed prompts, one token per eval;
                       generation does NOT stop at EOS, so every case has exactly 64 ids
  teacher_forced.json  next-token argmax/top-5 at every position of a fixed text

Everything is deterministic: argmax decoding, fixed seed, fixed thread count,
flash attention off, default F16 KV cache. Run it through scripts/make_goldens.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

try:
    import llama_cpp
    from llama_cpp import Llama
except ImportError:
    sys.exit("llama-cpp-python is not installed; run scripts/make_goldens.sh")

HERE = Path(__file__).resolve().parent
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 2048
N_THREADS = 2
SEED = 1234
N_PREDICT = 64

GREEDY_PROMPTS = [
    "The capital of France is",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is the boiling point of water in Celsius?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "def fibonacci(n):",
    "Once upon a time,",
    "The three primary colors are",
]

# Encyclopedic prose long enough (>= 600 tokens) to exercise many KV positions.
TEACHER_FORCED_TEXT = """\
The printing press is a mechanical device for applying pressure to an inked surface resting upon a print medium, such as paper or cloth, thereby transferring the ink. It marked a dramatic improvement on earlier printing methods in which the cloth, paper or other medium was brushed or rubbed repeatedly to achieve the transfer of ink, and accelerated the process. Typically used for texts, the invention and global spread of the printing press was one of the most influential events of the second millennium.

In Germany, around 1440, the goldsmith Johannes Gutenberg invented a movable-type printing press, which started the Printing Revolution. Modelled on the design of existing screw presses, a single Renaissance movable-type printing press could produce up to 3,600 pages per workday, compared to forty by hand-printing and a few by hand-copying. Gutenberg's newly devised hand mould made possible the precise and rapid creation of metal movable type in large quantities. His two inventions, the hand mould and the movable-type printing press, together drastically reduced the cost of printing books and other documents in Europe, particularly for shorter print runs.

The printing press spread within several decades to over two hundred cities in a dozen European countries. By 1500, printing presses in operation throughout Western Europe had already produced more than twenty million volumes. In the sixteenth century, with presses spreading further afield, their output rose tenfold to an estimated 150 to 200 million copies. The operation of a press became synonymous with the enterprise of printing, and lent its name to a new medium of expression and communication, "the press".

The spread of mass communication in early modern Europe had a revolutionary impact on society. The relatively unrestricted circulation of information and ideas transcended borders, captured the masses in the Reformation, and threatened the power of political and religious authorities. The sharp increase in literacy broke the monopoly of the literate elite on education and learning and bolstered the emerging middle class. Across Europe, the increasing cultural self-awareness of its peoples led to the rise of proto-nationalism, and accelerated the development of European vernaculars, to the detriment of the status of Latin as the common language.

In the nineteenth century, the replacement of the hand-operated Gutenberg-style press by steam-powered rotary presses allowed printing on an industrial scale. Friedrich Koenig and Andreas Bauer built a press in 1812 whose cylinder could print about 1,100 sheets per hour, and by the middle of the century rotary presses fed from continuous rolls of paper were printing tens of thousands of newspapers every night. Cheaper paper made from wood pulp, faster typesetting machines such as the Linotype, and the growth of railways that carried newspapers across whole countries turned reading into an everyday habit for millions of people.

Today, most printing is done with offset lithography, flexography and digital methods such as laser and inkjet printers. Yet the basic idea introduced in the fifteenth century, that a text can be composed once and then reproduced many times at low cost, still shapes how knowledge is stored and shared, from books and newspapers to the pages of the World Wide Web.
"""


def model_path_default() -> Path:
    home = Path(os.environ.get("AUTOGLM_HOME", Path.home() / ".cache" / "autoglm"))
    return home / "models" / MODEL_NAME


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def write_json(path: Path, obj: dict) -> None:
    """One top-level key per line; lists of lists/objects one element per line (diffable)."""
    lines = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], (list, dict)):
            items = ",\n".join("  " + compact(v) for v in value)
            lines.append(f"{compact(key)}: [\n{items}\n ]")
        else:
            lines.append(f"{compact(key)}: {compact(value)}")
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("{\n " + ",\n ".join(lines) + "\n}\n")
    tmp.replace(path)
    print(f"wrote {path}")


def header(llm: Llama, model: Path) -> dict:
    return {
        "model": model.name,
        "llama_cpp_python": llama_cpp.__version__,
        "n_ctx": N_CTX,
        "n_threads": N_THREADS,
        "seed": SEED,
        "flash_attn": False,
        "kv_type": "f16",
        "n_vocab": llm.n_vocab(),
    }


def tokenize(llm: Llama, text: str, add_bos: bool) -> list[int]:
    return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)


def detok(llm: Llama, ids: list[int]) -> str:
    return llm.detokenize(ids, special=True).decode("utf-8", errors="replace")


def make_tokens(llm: Llama, model: Path, corpus: list[str]) -> dict:
    cases = [{"text": t, "ids": tokenize(llm, t, add_bos=False)} for t in corpus]
    return {**header(llm, model), "add_bos": False, "parse_special": True, "cases": cases}


def last_logits(llm: Llama) -> np.ndarray:
    return llm.scores[llm.n_tokens - 1]  # [n_vocab]


def make_greedy(llm: Llama, model: Path, add_bos: bool) -> dict:
    cases = []
    for prompt in GREEDY_PROMPTS:
        prompt_ids = tokenize(llm, prompt, add_bos)
        llm.reset()
        llm.eval(prompt_ids)
        ids, margins = [], []
        for _ in range(N_PREDICT):
            logits = last_logits(llm)
            top2 = np.argsort(-logits, kind="stable")[:2]
            tok = int(np.argmax(logits))
            ids.append(tok)
            margins.append(round(float(logits[top2[0]] - logits[top2[1]]), 5))
            llm.eval([tok])
        cases.append(
            {
                "prompt": prompt,
                "prompt_ids": prompt_ids,
                "ids": ids,
                "text": detok(llm, ids),
                # top1 - top2 logit gap per step: near-ties may legitimately flip.
                "top1_margin": margins,
            }
        )
        print(f"greedy: {prompt[:40]!r} -> {cases[-1]['text'][:60]!r}")
    return {
        **header(llm, model),
        "add_bos": add_bos,
        "parse_special": True,
        "n_predict": N_PREDICT,
        "stops_at_eos": False,
        "cases": cases,
    }


def make_teacher_forced(llm: Llama, model: Path, add_bos: bool) -> dict:
    ids = tokenize(llm, TEACHER_FORCED_TEXT, add_bos)
    if len(ids) < 600:
        sys.exit(f"teacher-forced text has only {len(ids)} tokens; need >= 600")
    llm.reset()
    llm.eval(ids)
    scores = llm.scores[: len(ids)]  # [n_tokens, n_vocab]
    top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    top5_logits = np.take_along_axis(scores, top5, axis=1)
    top1 = scores.argmax(axis=1)
    # llama.cpp against itself: the same text one token per eval takes other kernel paths
    # (batched vs. single-row mat-muls) and rounds differently. Its top-1 agreement with the
    # batched pass is the noise floor any second engine is measured against.
    llm.reset()
    sequential = []
    for tok in ids:
        llm.eval([tok])
        sequential.append(int(np.argmax(last_logits(llm))))
    self_top1 = float(np.mean(np.array(sequential) == top1))
    print(f"teacher-forced: llama.cpp one-token-at-a-time vs batched top-1 agreement {self_top1:.4f}")
    return {
        **header(llm, model),
        "add_bos": add_bos,
        "parse_special": True,
        "text": TEACHER_FORCED_TEXT,
        "ids": ids,
        # top1[i] is the argmax next token after evaluating ids[0..i].
        "top1": [int(t) for t in top1],
        "llama_cpp_self_top1": round(self_top1, 5),
        "top5": top5.tolist(),
        "top5_logits": [[round(float(v), 5) for v in row] for row in top5_logits],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=model_path_default())
    ap.add_argument("--corpus", type=Path, default=HERE / "corpus.json")
    ap.add_argument("--out", type=Path, default=HERE / "goldens")
    args = ap.parse_args()

    if not args.model.is_file():
        sys.exit(f"model not found: {args.model} (run scripts/fetch_model.sh)")
    corpus = json.loads(args.corpus.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)

    llm = Llama(
        model_path=str(args.model),
        n_ctx=N_CTX,
        n_batch=N_CTX,
        n_ubatch=512,
        n_threads=N_THREADS,
        n_threads_batch=N_THREADS,
        seed=SEED,
        logits_all=True,
        flash_attn=False,
        verbose=False,
    )
    add_bos = bool(llm._model.add_bos_token())  # llama.cpp's reading of the GGUF metadata

    write_json(args.out / "tokens.json", make_tokens(llm, args.model, corpus))
    write_json(args.out / "greedy.json", make_greedy(llm, args.model, add_bos))
    write_json(args.out / "teacher_forced.json", make_teacher_forced(llm, args.model, add_bos))


if __name__ == "__main__":
    main()
