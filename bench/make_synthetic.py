#!/usr/bin/env python3
"""Write random-weight GGUF models with real shapes, for benchmarks (bench/compare).

Speed does not depend on weight values, so these stand in for real models in types and sizes
no single download provides:

  smollm2-135m-shape.{F16,Q8_0,Q4_0}.gguf  SmolLM2-135M: llama, 30 layers, n_embd 576, 9 heads,
                                            3 KV heads, n_ff 1536, vocab 49152, tied embeddings
  qwen2.5-0.5b-shape.llama.Q4_0.gguf        Qwen2.5-0.5B sizes as a llama model (no QKV biases):
                                            24 layers, n_embd 896, 14 heads, 2 KV heads,
                                            n_ff 4864, vocab 151936, tied embeddings

Every 2-D weight, token_embd included, has the named type ("pure" quantization, as
`llama-quantize --pure`), so a file measures that one matmul type; norms are F32 ones. Weights are
N(0, 0.02) quantized with gguf-py's reference quantizers, seeded per tensor name (deterministic).
The tokenizer comes from the donor (the default SmolLM2 file). For the 151936-token model the
donor's 49152-token vocabulary is padded with unused tokens "<|synthetic_pad_N|>" (token type 5),
so the embedding keeps Qwen2.5's real size (the logits matmul is 28 % of its weights) and both
autoglm and llama.cpp see a vocabulary consistent with it.

Files go to $AUTOGLM_HOME/models/synthetic/ (or --out); existing files are kept. Needs numpy and
gguf==0.19.0: run it with the venv python from bench/refvenv.sh, or through bench/make_synthetic.sh.
"""

from __future__ import annotations

import argparse
import os
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QType
    from gguf import GGUFValueType as VType
except ImportError:
    sys.exit("the gguf package is missing: run bench/make_synthetic.sh (it uses the venv of bench/refvenv.sh)")

SEED = 20261122
WEIGHT_STD = 0.02
ROWS_PER_CHUNK = 4096  # rows generated and quantized at a time, to bound memory on big tensors


@dataclass(frozen=True)
class Shapes:
    name: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    ctx: int
    rope_base: float
    rms_eps: float


SMOLLM2_135M = Shapes("smollm2-135m-shape", 30, 576, 9, 3, 1536, 49152, 8192, 100000.0, 1e-5)
QWEN25_05B = Shapes("qwen2.5-0.5b-shape.llama", 24, 896, 14, 2, 4864, 151936, 32768, 1000000.0, 1e-6)

# (shapes, weight type): the default set bench/compare uses.
MODELS = [
    (SMOLLM2_135M, QType.F16),
    (SMOLLM2_135M, QType.Q8_0),
    (SMOLLM2_135M, QType.Q4_0),
    (QWEN25_05B, QType.Q4_0),
]

# llama.cpp's LLAMA_FTYPE values for general.file_type.
FILE_TYPE = {QType.F32: 0, QType.F16: 1, QType.Q4_0: 2, QType.Q4_1: 3, QType.Q8_0: 7}


def models_dir() -> Path:
    home = Path(os.environ.get("AUTOGLM_HOME", Path.home() / ".cache" / "autoglm"))
    return home / "models"


def file_name(shapes: Shapes, qtype: QType) -> str:
    return f"{shapes.name}.{qtype.name}.gguf"


def tensor_list(s: Shapes) -> list[tuple[str, tuple[int, ...]]]:
    """GGUF tensor names and numpy shapes ([rows, cols]; GGUF lists dims reversed)."""
    head_dim = s.n_embd // s.n_head
    kv = s.n_head_kv * head_dim
    out = [("token_embd.weight", (s.n_vocab, s.n_embd))]
    for i in range(s.n_layer):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (s.n_embd,)),
            (b + "attn_q.weight", (s.n_embd, s.n_embd)),
            (b + "attn_k.weight", (kv, s.n_embd)),
            (b + "attn_v.weight", (kv, s.n_embd)),
            (b + "attn_output.weight", (s.n_embd, s.n_embd)),
            (b + "ffn_norm.weight", (s.n_embd,)),
            (b + "ffn_gate.weight", (s.n_ff, s.n_embd)),
            (b + "ffn_up.weight", (s.n_ff, s.n_embd)),
            (b + "ffn_down.weight", (s.n_embd, s.n_ff)),
        ]
    out.append(("output_norm.weight", (s.n_embd,)))
    return out


def tensor_type(shape: tuple[int, ...], qtype: QType) -> QType:
    return qtype if len(shape) == 2 else QType.F32


def tensor_bytes(shape: tuple[int, ...], t: QType) -> int:
    block, size = gguf.GGML_QUANT_SIZES[t]
    rows = shape[0] if len(shape) == 2 else 1
    return rows * (shape[-1] // block) * size


def tensor_data(name: str, shape: tuple[int, ...], t: QType) -> np.ndarray:
    """The bytes (or floats) of one tensor, from a generator seeded by its name."""
    if len(shape) == 1:
        return np.ones(shape, dtype=np.float32)
    rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
    chunks = []
    for r0 in range(0, shape[0], ROWS_PER_CHUNK):
        rows = min(ROWS_PER_CHUNK, shape[0] - r0)
        w = rng.normal(0.0, WEIGHT_STD, size=(rows, shape[1])).astype(np.float32)  # [rows, n_in]
        chunks.append(w.astype(np.float16) if t == QType.F16 else gguf.quants.quantize(w, t))
    return np.concatenate(chunks)


def copy_tokenizer(donor: gguf.GGUFReader, w: gguf.GGUFWriter, n_vocab: int) -> None:
    for key, field in donor.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        value = field.contents()
        sub = field.types[1] if vtype == VType.ARRAY else None
        if key == "tokenizer.ggml.tokens":
            value = value + [f"<|synthetic_pad_{i}|>" for i in range(n_vocab - len(value))]
        elif key == "tokenizer.ggml.token_type":
            value = value + [5] * (n_vocab - len(value))  # 5 = unused
        w.add_key_value(key, value, vtype, sub_type=sub)


def write_model(shapes: Shapes, qtype: QType, donor: gguf.GGUFReader, path: Path) -> None:
    donor_vocab = len(donor.fields["tokenizer.ggml.tokens"].contents())
    if shapes.n_vocab < donor_vocab:
        raise SystemExit(f"{shapes.name}: vocab {shapes.n_vocab} is smaller than the donor's {donor_vocab}")
    tmp = path.with_name(path.name + ".part")
    w = gguf.GGUFWriter(tmp, "llama")
    w.add_name(f"synthetic {shapes.name} {qtype.name} (random weights, for benchmarks)")
    w.add_type("model")
    w.add_block_count(shapes.n_layer)
    w.add_context_length(shapes.ctx)
    w.add_embedding_length(shapes.n_embd)
    w.add_feed_forward_length(shapes.n_ff)
    w.add_head_count(shapes.n_head)
    w.add_head_count_kv(shapes.n_head_kv)
    w.add_rope_freq_base(shapes.rope_base)
    w.add_layer_norm_rms_eps(shapes.rms_eps)
    w.add_rope_dimension_count(shapes.n_embd // shapes.n_head)
    w.add_vocab_size(shapes.n_vocab)
    w.add_file_type(FILE_TYPE[qtype])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    copy_tokenizer(donor, w, shapes.n_vocab)

    tensors = tensor_list(shapes)
    for name, shape in tensors:
        t = tensor_type(shape, qtype)
        w.add_tensor_info(name, shape, np.dtype(np.float32 if t == QType.F32 else np.float16),
                          tensor_bytes(shape, t), raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for i, (name, shape) in enumerate(tensors):
        w.write_tensor_data(tensor_data(name, shape, tensor_type(shape, qtype)))
        if i % 50 == 0:
            print(f"  {path.name}: tensor {i + 1}/{len(tensors)}", file=sys.stderr)
    w.close()
    tmp.rename(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=models_dir() / "synthetic", help="output folder")
    ap.add_argument("--donor", type=Path, default=models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf",
                    help="GGUF file whose tokenizer the models take (default: the default model)")
    ap.add_argument("--list", action="store_true", help="print the paths of the models and exit")
    args = ap.parse_args()

    paths = [(s, q, args.out / file_name(s, q)) for s, q in MODELS]
    if args.list:
        for _, _, p in paths:
            print(p)
        return
    if not args.donor.is_file():
        sys.exit(f"tokenizer donor not found: {args.donor} (run scripts/fetch_model.sh)")
    args.out.mkdir(parents=True, exist_ok=True)
    donor = gguf.GGUFReader(args.donor)
    for shapes, qtype, path in paths:
        if path.is_file():
            print(f"[make_synthetic] {path} exists, kept", file=sys.stderr)
            continue
        print(f"[make_synthetic] writing {path}", file=sys.stderr)
        write_model(shapes, qtype, donor, path)
    print(f"[make_synthetic] done: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
