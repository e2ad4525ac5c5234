"""Rigfit's memory plan against what real llama.cpp allocates, buffer by buffer.

Builds GGUF models with ``gguf.GGUFWriter`` (tensor lists from ``tests/fixtures/ggufs.py`` plus each
architecture's extra tensors; random but valid Q8_0 / Q4_0 / Q4_K / MXFP4 / Q6_K blocks): dense GQA models
(llama, the shape of Qwen3-0.6B), MoE models (qwen3moe, MiniMax M2, DeepSeek-style MLA and an older conversion
without MLA keys, glm4moe with a NextN block, gpt-oss), sliding-window models (gemma2, gemma3) and a llama split in
shards. Loads each in llama.cpp through ``llama-cpp-python`` (CPU backend) at several contexts, cache types,
sequence counts and with and without mmap, parses the buffer sizes llama.cpp logs and compares them with the CPU
row of ``advisor.plan.planner.plan(...)`` for a machine without a GPU.

llama.cpp runs in a child process of ``$RIGFIT_BENCH_PYTHON``: by default this interpreter when it has
``llama_cpp``, else the ``.venv-bench`` that ``make bench`` builds. Run it with an environment that has
llama-cpp-python and Rigfit's non-Qt dependencies (gguf, numpy, huggingface_hub, platformdirs, psutil):

    .venv-bench/bin/python benchmarks/memory_vs_llamacpp.py     # measure, write JSON + doc
    RIGFIT_BENCH_PYTHON=.venv-bench/bin/python .venv/bin/python benchmarks/memory_vs_llamacpp.py  # as `make bench`
    python benchmarks/memory_vs_llamacpp.py --from-json  # re-render the doc from the JSON only

Each generated model (0.3 to 0.9 GB) is deleted after its runs; with ``--keep DIR`` all of them (about 7 GB) stay
there for the next run.

Target (issue 4): every total within 3 % or 64 MiB of llama.cpp's, whichever is larger.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

ROOT = Path(__file__).resolve().parent.parent
# run as `python benchmarks/memory_vs_llamacpp.py` from a checkout: tests.fixtures is not an installed package
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from advisor.hardware.types import Cpu, Hardware, Memory  # noqa: E402
from advisor.model.resolve import resolve_model  # noqa: E402
from advisor.plan.memory import repacked_tensor_bytes, weight_map_for  # noqa: E402
from advisor.plan.planner import plan  # noqa: E402
from advisor.plan.types import PlanOptions, Verdict  # noqa: E402
from tests.fixtures.ggufs import GGUFSpec, expected_tensors  # noqa: E402


def _default_bench_python() -> str:
    try:
        import llama_cpp  # noqa: F401  (only to know whether this interpreter can run llama.cpp itself)
    except ImportError:
        return str(Path(__file__).resolve().parent.parent / ".venv-bench" / "bin" / "python")
    return sys.executable


BENCH_PYTHON = os.environ.get("RIGFIT_BENCH_PYTHON") or _default_bench_python()
RESULTS = ROOT / "benchmarks" / "results" / "memory_llamacpp.json"
DOC = ROOT / "docs" / "accuracy.md"
SCHEMA = "rigfit.bench.memory/1"
MIB = 1024 * 1024
BUFFERS = ("weights", "repack", "kv", "compute", "output")

F32 = GGMLQuantizationType.F32
F16 = GGMLQuantizationType.F16
Q8_0 = GGMLQuantizationType.Q8_0
Q4_0 = GGMLQuantizationType.Q4_0
Q4_K = GGMLQuantizationType.Q4_K
Q6_K = GGMLQuantizationType.Q6_K
MXFP4 = GGMLQuantizationType.MXFP4
GGML_TYPE_IDS = {"f16": 1, "q8_0": 8, "q4_0": 2}

#: Where each block type keeps its f16 scales (byte offsets inside one block): random bytes there could be NaN/Inf,
#: so they are overwritten with a small finite scale (ggml-common.h block layouts).
_SCALE_OFFSETS = {Q8_0: (0,), Q4_0: (0,), Q4_K: (0, 2), Q6_K: (208,)}
_SCALE = np.frombuffer(np.float16(0.0078125).tobytes(), dtype=np.uint8)


@dataclass(frozen=True)
class Run:
    context: int
    cache: str  # K and V cache type
    flash: bool
    parallel: int = 1  # sequences (llama-server -np N: one KV stream each, not unified)
    mmap: bool = True
    ubatch: int = 512  # n_ubatch (-ub); n_batch stays 2048


@dataclass(frozen=True)
class Bench:
    """One benchmark model: the fixture spec, its tensor types, and the loads to measure."""

    name: str
    spec: GGUFSpec
    weight_type: GGMLQuantizationType
    runs: tuple[Run, ...]
    expert_type: GGMLQuantizationType | None = None
    embd_type: GGMLQuantizationType = Q6_K
    shards: int = 0  # split_max_tensors for the writer (0: one file)
    extra_float: dict[str, float] = field(default_factory=dict)
    extra_uint: dict[str, int] = field(default_factory=dict)
    rope_dim: int | None = None  # partial rotary (MiniMax M2: 64 of 128)
    key_length: int | None = None  # written instead of the spec's head size (MLA: latent + rope)
    value_length: int | None = None
    tensors: Callable[[GGUFSpec], list[tuple[str, tuple[int, ...], bool]]] | None = None  # default: the fixture's


#: DeepSeek-V3's attention in miniature: query LoRA 768, 16 heads of 128 + 64 rope dims, a 512-value KV latent.
MLA = {"kv_lora_rank": 512, "q_lora_rank": 768, "rope": 64, "nope": 128, "v_head": 128}


def deepseek2_tensors(spec: GGUFSpec, *, split_kv_b: bool = True) -> list[tuple[str, tuple[int, ...], bool]]:
    """llama.cpp's deepseek2 layout, first block dense. ``split_kv_b``: MLA's k_b / v_b (current conversions);
    else the older single ``attn_kv_b``, which llama.cpp runs as plain multi-head attention."""
    e, h, r = spec.n_embd, spec.n_head, MLA["kv_lora_rank"]
    out: list[tuple[str, tuple[int, ...], bool]] = [("token_embd.weight", (e, spec.n_vocab), False)]
    for il in range(spec.n_layers):
        p = f"blk.{il}."
        out += [
            (p + "attn_norm.weight", (e,), False),
            (p + "attn_q_a.weight", (e, MLA["q_lora_rank"]), False),
            (p + "attn_q_a_norm.weight", (MLA["q_lora_rank"],), False),
            (p + "attn_q_b.weight", (MLA["q_lora_rank"], h * (MLA["nope"] + MLA["rope"])), False),
            (p + "attn_kv_a_mqa.weight", (e, r + MLA["rope"]), False),
            (p + "attn_kv_a_norm.weight", (r,), False),
        ]
        if split_kv_b:
            out += [
                (p + "attn_k_b.weight", (MLA["nope"], r, h), False),
                (p + "attn_v_b.weight", (r, MLA["v_head"], h), False),
            ]
        else:
            out.append((p + "attn_kv_b.weight", (r, h * (MLA["nope"] + MLA["v_head"])), False))
        out += [
            (p + "attn_output.weight", (h * MLA["v_head"], e), False),
            (p + "ffn_norm.weight", (e,), False),
        ]
        if il < spec.leading_dense:
            out += [
                (p + "ffn_gate.weight", (e, spec.n_ff), False),
                (p + "ffn_up.weight", (e, spec.n_ff), False),
                (p + "ffn_down.weight", (spec.n_ff, e), False),
            ]
            continue
        x, ff, sff = spec.experts, spec.expert_ff, spec.expert_ff * spec.shared_experts
        out += [
            (p + "ffn_gate_inp.weight", (e, x), False),
            (p + "ffn_gate_exps.weight", (e, ff, x), True),
            (p + "ffn_up_exps.weight", (e, ff, x), True),
            (p + "ffn_down_exps.weight", (ff, e, x), True),
            (p + "ffn_gate_shexp.weight", (e, sff), False),
            (p + "ffn_up_shexp.weight", (e, sff), False),
            (p + "ffn_down_shexp.weight", (sff, e), False),
        ]
    out += [("output_norm.weight", (e,), False), ("output.weight", (e, spec.n_vocab), False)]
    return out


def gpt_oss_tensors(spec: GGUFSpec) -> list[tuple[str, tuple[int, ...], bool]]:
    """llama.cpp's gpt-oss layout: biased attention with per-head sinks, post-attention norm, biased MoE FFN."""
    e, h, kv, hd, x, ff = spec.n_embd, spec.n_head, spec.n_head_kv, spec.key_length, spec.experts, spec.expert_ff
    out: list[tuple[str, tuple[int, ...], bool]] = [("token_embd.weight", (e, spec.n_vocab), False)]
    for il in range(spec.n_layers):
        p = f"blk.{il}."
        out += [
            (p + "attn_norm.weight", (e,), False),
            (p + "post_attention_norm.weight", (e,), False),
            (p + "attn_q.weight", (e, h * hd), False),
            (p + "attn_q.bias", (h * hd,), False),
            (p + "attn_k.weight", (e, kv * hd), False),
            (p + "attn_k.bias", (kv * hd,), False),
            (p + "attn_v.weight", (e, kv * hd), False),
            (p + "attn_v.bias", (kv * hd,), False),
            (p + "attn_output.weight", (h * hd, e), False),
            (p + "attn_output.bias", (e,), False),
            (p + "attn_sinks.weight", (h,), False),
            (p + "ffn_gate_inp.weight", (e, x), False),
            (p + "ffn_gate_inp.bias", (x,), False),
            (p + "ffn_gate_exps.weight", (e, ff, x), True),
            (p + "ffn_gate_exps.bias", (ff, x), False),
            (p + "ffn_up_exps.weight", (e, ff, x), True),
            (p + "ffn_up_exps.bias", (ff, x), False),
            (p + "ffn_down_exps.weight", (ff, e, x), True),
            (p + "ffn_down_exps.bias", (e, x), False),
        ]
    out += [("output_norm.weight", (e,), False), ("output.weight", (e, spec.n_vocab), False)]
    return out


def glm4moe_tensors(spec: GGUFSpec) -> list[tuple[str, tuple[int, ...], bool]]:
    """llama.cpp's glm4moe layout: biased q/k/v, post-attention norm, dense lead blocks, routed + shared experts with
    a selection bias, and a last NextN (MTP) block with its extra projections."""
    e, h, kv, hd, x, ff = spec.n_embd, spec.n_head, spec.n_head_kv, spec.key_length, spec.experts, spec.expert_ff
    nextn = int(spec.extra_kv.get("glm4moe.nextn_predict_layers", 0))
    out: list[tuple[str, tuple[int, ...], bool]] = [("token_embd.weight", (e, spec.n_vocab), False)]
    for il in range(spec.n_layers):
        p = f"blk.{il}."
        out += [
            (p + "attn_norm.weight", (e,), False),
            (p + "attn_q.weight", (e, h * hd), False),
            (p + "attn_q.bias", (h * hd,), False),
            (p + "attn_k.weight", (e, kv * hd), False),
            (p + "attn_k.bias", (kv * hd,), False),
            (p + "attn_v.weight", (e, kv * hd), False),
            (p + "attn_v.bias", (kv * hd,), False),
            (p + "attn_output.weight", (h * hd, e), False),
            (p + "post_attention_norm.weight", (e,), False),
        ]
        if il < spec.leading_dense:
            out += [
                (p + "ffn_gate.weight", (e, spec.n_ff), False),
                (p + "ffn_up.weight", (e, spec.n_ff), False),
                (p + "ffn_down.weight", (spec.n_ff, e), False),
            ]
        else:
            sff = ff * spec.shared_experts
            out += [
                (p + "ffn_gate_inp.weight", (e, x), False),
                (p + "exp_probs_b.bias", (x,), False),
                (p + "ffn_gate_exps.weight", (e, ff, x), True),
                (p + "ffn_up_exps.weight", (e, ff, x), True),
                (p + "ffn_down_exps.weight", (ff, e, x), True),
                (p + "ffn_gate_shexp.weight", (e, sff), False),
                (p + "ffn_up_shexp.weight", (e, sff), False),
                (p + "ffn_down_shexp.weight", (sff, e), False),
            ]
        if il >= spec.n_layers - nextn:
            out += [
                (p + "nextn.eh_proj.weight", (2 * e, e), False),
                (p + "nextn.enorm.weight", (e,), False),
                (p + "nextn.hnorm.weight", (e,), False),
                (p + "nextn.shared_head_norm.weight", (e,), False),
            ]
    out += [("output_norm.weight", (e,), False), ("output.weight", (e, spec.n_vocab), False)]
    return out


def _llama(**kw) -> GGUFSpec:
    base = dict(arch="llama", n_layers=8, n_embd=2048, n_head=32, n_head_kv=8, n_ff=5632, n_vocab=65536)
    return GGUFSpec(**{**base, **kw})


BENCHES = (
    Bench(
        "llama-gqa-q8_0",
        _llama(name="bench llama GQA"),
        Q8_0,
        (
            Run(4096, "f16", True),
            Run(16384, "f16", True),
            Run(16384, "q8_0", True),
            Run(32768, "q4_0", True),
            Run(8192, "f16", False),
            Run(16384, "f16", False, parallel=4),
            Run(8192, "f16", True, ubatch=2048),
        ),
    ),
    Bench(
        "qwen3-0.6b-shape-q8_0",
        GGUFSpec(
            arch="qwen3",
            name="bench Qwen3-0.6B shape",
            n_layers=28,
            n_embd=1024,
            n_head=16,
            n_head_kv=8,
            head_dim=128,
            n_ff=3072,
            n_vocab=151936,
            tied_embeddings=True,
        ),
        Q8_0,
        (Run(4096, "f16", True), Run(40960, "q8_0", True), Run(8192, "f16", False)),
        embd_type=Q8_0,
    ),
    Bench(
        "llama-gqa-q4_0",
        _llama(name="bench llama GQA q4_0"),
        Q4_0,
        (Run(8192, "f16", True), Run(8192, "q4_0", True), Run(4096, "f16", False), Run(8192, "f16", True, mmap=False)),
    ),
    Bench(
        "qwen3moe-q4_k",
        GGUFSpec(
            arch="qwen3moe",
            name="bench qwen3moe",
            n_layers=8,
            n_embd=2048,
            n_head=32,
            n_head_kv=4,
            head_dim=128,
            n_ff=6144,
            n_vocab=32768,
            experts=16,
            experts_used=4,
            expert_ff=768,
        ),
        Q8_0,
        (
            Run(4096, "f16", True),
            Run(8192, "f16", True),
            Run(32768, "q8_0", True),
            Run(32768, "q4_0", True),
            Run(65536, "f16", True),
            Run(8192, "f16", False),
            Run(16384, "q8_0", True, parallel=2),
            Run(4096, "f16", True, mmap=False),
        ),
        expert_type=Q4_K,
    ),
    Bench(
        "minimax-m2-q4_k",
        GGUFSpec(
            arch="minimax-m2",
            name="bench minimax-m2",
            n_layers=6,
            n_embd=1536,
            n_head=24,
            n_head_kv=8,
            head_dim=128,
            n_ff=768,  # llama.cpp sizes MiniMax M2's experts by feed_forward_length
            n_vocab=32768,
            experts=32,
            experts_used=8,
            expert_ff=768,
        ),
        Q8_0,
        (Run(8192, "f16", True), Run(32768, "q8_0", True), Run(4096, "f16", False)),
        expert_type=Q4_K,
        rope_dim=64,
        extra_uint={"expert_gating_func": 2},
    ),
    Bench(
        "deepseek2-mla-q4_k",
        GGUFSpec(
            arch="deepseek2",
            name="bench deepseek2 MLA",
            n_layers=6,
            n_embd=2048,
            n_head=16,
            n_head_kv=1,
            n_ff=4096,
            n_vocab=32768,
            experts=16,
            experts_used=4,
            expert_ff=1024,
            shared_experts=1,
            leading_dense=1,
            kv_lora_rank=512,
        ),
        Q8_0,
        (Run(8192, "f16", True), Run(32768, "f16", True), Run(32768, "q8_0", True), Run(4096, "f16", False)),
        expert_type=Q4_K,
        rope_dim=64,
        key_length=512 + 64,
        value_length=512,
        tensors=deepseek2_tensors,
        extra_uint={
            "attention.kv_lora_rank": 512,
            "attention.q_lora_rank": 768,
            "attention.key_length_mla": 128 + 64,
            "attention.value_length_mla": 128,
            "leading_dense_block_count": 1,
            "expert_shared_count": 1,
            "expert_gating_func": 1,
        },
        extra_float={"expert_weights_scale": 1.0},
    ),
    Bench(
        "deepseek2-old-q4_k",
        GGUFSpec(
            arch="deepseek2",
            name="bench deepseek2 without MLA keys",
            n_layers=6,
            n_embd=2048,
            n_head=16,
            n_head_kv=16,
            n_ff=4096,
            n_vocab=32768,
            experts=16,
            experts_used=4,
            expert_ff=1024,
            shared_experts=1,
            leading_dense=1,
            kv_lora_rank=512,
        ),
        Q8_0,
        (Run(4096, "f16", True), Run(16384, "f16", True)),
        expert_type=Q4_K,
        rope_dim=64,
        key_length=128 + 64,
        value_length=128,
        tensors=lambda spec: deepseek2_tensors(spec, split_kv_b=False),
        extra_uint={
            "attention.kv_lora_rank": 512,
            "attention.q_lora_rank": 768,
            "leading_dense_block_count": 1,
            "expert_shared_count": 1,
            "expert_gating_func": 1,
        },
        extra_float={"expert_weights_scale": 1.0},
    ),
    Bench(
        "gpt-oss-mxfp4",
        GGUFSpec(
            arch="gpt-oss",
            name="bench gpt-oss",
            n_layers=8,
            n_embd=1024,
            n_head=16,
            n_head_kv=4,
            head_dim=64,
            n_ff=1024,
            n_vocab=32768,
            experts=32,
            experts_used=4,
            expert_ff=1024,
            sliding_window=128,
        ),
        Q8_0,
        (Run(8192, "f16", True), Run(32768, "f16", True), Run(32768, "q8_0", True), Run(4096, "f16", False)),
        expert_type=MXFP4,
        embd_type=Q8_0,
        tensors=gpt_oss_tensors,
    ),
    Bench(
        "glm4moe-nextn-q4_k",
        GGUFSpec(
            arch="glm4moe",
            name="bench glm4moe with a NextN layer",
            n_layers=7,  # 6 decoder blocks + 1 NextN block, as GLM-4.5 files store it
            n_embd=2048,
            n_head=16,
            n_head_kv=4,
            head_dim=128,
            n_ff=4096,
            n_vocab=32768,
            experts=16,
            experts_used=4,
            expert_ff=1024,
            shared_experts=1,
            leading_dense=1,
            extra_kv={"glm4moe.nextn_predict_layers": 1},
        ),
        Q8_0,
        (Run(8192, "f16", True), Run(32768, "q8_0", True)),
        expert_type=Q4_K,
        rope_dim=64,
        tensors=glm4moe_tensors,
        extra_uint={
            "leading_dense_block_count": 1,
            "expert_shared_count": 1,
            "expert_gating_func": 2,
            "nextn_predict_layers": 1,
        },
        extra_float={"expert_weights_scale": 1.0},
    ),
    Bench(
        "gemma3-swa-q8_0",
        GGUFSpec(
            arch="gemma3",
            name="bench gemma3",
            n_layers=12,
            n_embd=1536,
            n_head=8,
            n_head_kv=4,
            head_dim=256,
            n_ff=6144,
            n_vocab=65536,
            sliding_window=1024,
            tied_embeddings=True,
        ),
        Q8_0,
        (
            Run(8192, "f16", True),
            Run(32768, "f16", True),
            Run(32768, "q8_0", True),
            Run(65536, "q4_0", True),
            Run(8192, "f16", False),
            Run(32768, "f16", True, parallel=4),
            Run(10000, "f16", True, parallel=3),
            Run(32768, "f16", True, ubatch=1024),
        ),
        embd_type=Q8_0,
    ),
    Bench(
        "gemma2-swa-q8_0",
        GGUFSpec(
            arch="gemma2",
            name="bench gemma2",
            n_layers=8,
            n_embd=2048,
            n_head=8,
            n_head_kv=4,
            n_ff=9216,
            n_vocab=32768,
            sliding_window=1024,
            tied_embeddings=True,
        ),
        Q8_0,
        (Run(8192, "f16", True), Run(32768, "f16", True)),
        embd_type=Q8_0,
        extra_float={"attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0},
    ),
    Bench(
        "llama-split-q8_0",
        _llama(name="bench llama split", n_layers=6),
        Q8_0,
        (Run(4096, "f16", True), Run(16384, "q8_0", True)),
        shards=25,
    ),
)


# ------------------------------------------------------------------------------------------------- writing


def _extra_tensors(arch: str, spec: GGUFSpec, layer: int) -> list[tuple[str, tuple[int, ...]]]:
    """Per-block tensors llama.cpp requires for these architectures beyond the llama layout."""
    p, e, hd = f"blk.{layer}.", spec.n_embd, spec.key_length
    out: list[tuple[str, tuple[int, ...]]] = []
    if arch in ("qwen3", "qwen3moe", "gemma3"):
        out += [(p + "attn_q_norm.weight", (hd,)), (p + "attn_k_norm.weight", (hd,))]
    if arch in ("gemma2", "gemma3"):
        out += [(p + "post_attention_norm.weight", (e,)), (p + "post_ffw_norm.weight", (e,))]
    if arch == "minimax-m2":  # q/k norms over all heads, and the router's expert bias
        out += [
            (p + "attn_q_norm.weight", (spec.n_head * hd,)),
            (p + "attn_k_norm.weight", (spec.n_head_kv * hd,)),
            (p + "exp_probs_b.bias", (spec.experts,)),
        ]
    return out


def tensor_list(bench: Bench) -> list[tuple[str, tuple[int, ...], GGMLQuantizationType]]:
    spec = bench.spec
    out = []
    for name, shape, is_expert in (bench.tensors or expected_tensors)(spec):
        if len(shape) == 1 or name.endswith(("ffn_gate_inp.weight", ".bias")):
            qtype = F32
        elif name.startswith(("token_embd", "output.")):
            qtype = bench.embd_type
        elif is_expert:
            qtype = bench.expert_type or bench.weight_type
        else:
            qtype = bench.weight_type
        out.append((name, shape, qtype))
        match = re.match(r"blk\.(\d+)\.attn_norm\.weight$", name)
        if match:
            out += [(n, s, F32) for n, s in _extra_tensors(spec.arch, spec, int(match.group(1)))]
    return out


def random_tensor(qtype: GGMLQuantizationType, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random weights in valid blocks: random quants, small finite f16 scales (norms are ones)."""
    np_shape = tuple(reversed(shape))
    if qtype == F32:
        return np.ones(np_shape, dtype=np.float32)
    if qtype == F16:
        return (rng.standard_normal(np_shape, dtype=np.float32) * 0.02).astype(np.float16)
    block, size = GGML_QUANT_SIZES[qtype]
    rows = int(np.prod(np_shape[:-1]))
    blocks = rng.integers(0, 256, size=(rows * (np_shape[-1] // block), size), dtype=np.uint8)
    if qtype == MXFP4:
        blocks[:, 0] = 127  # the shared E8M0 exponent: 2^0
    for offset in _SCALE_OFFSETS.get(qtype, ()):
        blocks[:, offset : offset + 2] = _SCALE
    return blocks.reshape(*np_shape[:-1], np_shape[-1] // block * size)


def write_model(bench: Bench, directory: Path, seed: int = 4) -> list[Path]:
    """A loadable GGUF: the fixture's tensor layout, arch keys, and a small SentencePiece vocabulary."""
    spec, a = bench.spec, bench.spec.arch
    path = directory / f"{bench.name}.gguf"
    w = GGUFWriter(path, a, split_max_tensors=bench.shards)
    w.add_name(spec.name)
    w.add_block_count(spec.n_layers)
    w.add_context_length(131072)
    w.add_embedding_length(spec.n_embd)
    w.add_feed_forward_length(spec.n_ff)
    w.add_head_count(spec.n_head)
    w.add_head_count_kv(spec.n_head_kv)
    w.add_key_length(bench.key_length or spec.key_length)
    w.add_value_length(bench.value_length or spec.key_length)
    w.add_rope_dimension_count(bench.rope_dim or spec.key_length)
    w.add_layer_norm_rms_eps(1e-6)
    if spec.experts:
        w.add_expert_count(spec.experts)
        w.add_expert_used_count(spec.experts_used)
        w.add_expert_feed_forward_length(spec.expert_ff)
    if spec.sliding_window:
        w.add_sliding_window(spec.sliding_window)
    for key, value in bench.extra_float.items():
        w.add_float32(f"{a}.{key}", value)
    for key, value in bench.extra_uint.items():
        w.add_uint32(f"{a}.{key}", value)
    tokens = ["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)]]
    tokens += [f"\u2581t{i}" for i in range(spec.n_vocab - len(tokens))]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * len(tokens))
    w.add_token_types([2, 3, 3, *([6] * 256), *([1] * (len(tokens) - 259))])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    rng = np.random.default_rng(seed)
    for name, shape, qtype in tensor_list(bench):
        arr = random_tensor(qtype, shape, rng)
        w.add_tensor(name, arr, raw_dtype=None if qtype in (F32, F16) else qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if bench.shards:
        return sorted(directory.glob(f"{bench.name}-*-of-*.gguf"))
    return [path]


# ------------------------------------------------------------------------------------------------- llama.cpp

_LOADER = textwrap.dedent(
    """
    import sys, llama_cpp
    path, fa, mmap = sys.argv[1], sys.argv[4] == "1", sys.argv[6] == "1"
    n_ctx, type_kv, n_seq, n_ubatch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5]), int(sys.argv[7])
    llama_cpp.llama_backend_init()
    mp = llama_cpp.llama_model_default_params()
    mp.n_gpu_layers = 0
    if any(name == "load_mode" for name, _ in mp._fields_):
        mp.load_mode = 1 if mmap else 0  # LLAMA_LOAD_MODE_MMAP / _NONE
    else:
        mp.use_mmap = mmap
    model = llama_cpp.llama_model_load_from_file(path.encode(), mp)
    if not model:
        sys.exit("model did not load")
    cp = llama_cpp.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = n_ctx, 2048, n_ubatch, n_seq
    cp.kv_unified = False  # llama-server with an explicit -np N
    cp.swa_full = False
    cp.n_threads = cp.n_threads_batch = 1
    cp.type_k = cp.type_v = type_kv
    cp.flash_attn_type = 1 if fa else 0
    if not llama_cpp.llama_init_from_model(model, cp):
        sys.exit("context did not initialise")
    """
)

_BUFFER = re.compile(r"(?P<dev>[\w_]+)\s+(?P<what>model|KV|compute|output) buffer size =\s+(?P<mib>[\d.]+) MiB")


def parse_buffers(log: str) -> dict[str, float]:
    """MiB per buffer kind in a llama.cpp load log; several lines of a kind (shards, SWA caches) add up."""
    sizes = dict.fromkeys(BUFFERS, 0.0)
    for m in _BUFFER.finditer(log):
        what, dev = m.group("what"), m.group("dev")
        kinds = {"model": "repack" if dev.endswith("REPACK") else "weights", "KV": "kv"}
        kind = kinds.get(what, what)
        sizes[kind] += float(m.group("mib"))
    return sizes


def llama_cpp_load(path: Path, run: Run) -> tuple[dict[str, float], list[str]]:
    proc = subprocess.run(
        [
            BENCH_PYTHON,
            "-c",
            _LOADER,
            str(path),
            str(run.context),
            str(GGML_TYPE_IDS[run.cache]),
            str(int(run.flash)),
            str(run.parallel),
            str(int(run.mmap)),
            str(run.ubatch),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = proc.stdout + proc.stderr
    sizes = parse_buffers(log)
    if proc.returncode != 0 or sizes["weights"] == 0:
        raise RuntimeError(f"llama.cpp failed to load {path.name}:\n{log[-3000:]}")
    lines = [ln.strip() for ln in log.splitlines() if "buffer size" in ln or "KV cache, size" in ln]
    return sizes, lines


def llama_cpp_version() -> str:
    proc = subprocess.run(
        [BENCH_PYTHON, "-c", "import llama_cpp; print(llama_cpp.__version__)"], capture_output=True, text=True
    )
    return proc.stdout.strip() or "unknown"


# ------------------------------------------------------------------------------------------------- Rigfit


def cpu_features() -> tuple[str, ...]:
    """This machine's SIMD flags that decide llama.cpp's CPU repacking (read the way the probe reports them)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return ()
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))
    return tuple(f for f in ("avx", "avx2", "fma", "f16c", "avx512f") if f in flags)


def bench_hardware() -> Hardware:
    """This CPU, no GPU, and RAM large enough that every model plans as ``cpu``."""
    return Hardware(
        cpu=Cpu(name=platform.processor() or None, arch=platform.machine(), features=cpu_features()),
        memory=Memory(total_bytes=256 * 1024**3),
        os="linux",
    )


def rigfit_buffers(path: Path, run: Run, hardware: Hardware) -> dict[str, float]:
    """The plan's CPU row; its weights split into the CPU buffer and the repacked copy with the planner's own rule."""
    model = resolve_model(str(path))
    options = PlanOptions(
        context=run.context,
        kv_type_k=run.cache,
        kv_type_v=run.cache,
        flash_attention=run.flash,
        parallel=run.parallel,
        mmap=run.mmap,
        ubatch=run.ubatch,
    )
    (option,) = plan(model, hardware, options).options
    if option.verdict is not Verdict.CPU:
        raise RuntimeError(f"expected a cpu plan for {path.name}, got {option.verdict}: {option.verdict_reason}")
    cpu = next(row for row in option.memory if row.kind == "cpu")
    (quant,) = model.options
    repack = repacked_tensor_bytes(model.facts, weight_map_for(model.facts, quant), hardware.cpu.features)
    return {
        "weights": (cpu.weights_bytes - repack) / MIB,
        "repack": repack / MIB,
        "kv": cpu.kv_bytes / MIB,
        "compute": cpu.compute_bytes / MIB,
        "output": cpu.output_bytes / MIB,
    }


# ------------------------------------------------------------------------------------------------- running


def within_target(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= max(0.03 * theirs, 64.0)


def measure(keep: Path | None, only: set[str] | None, say: Callable[[str], None] = print) -> list[dict]:
    hardware = bench_hardware()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rigfit-bench-") as tmp:
        base = keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for bench in BENCHES:
            if only and bench.name not in only:
                continue
            paths = sorted(base.glob(f"{bench.name}-*-of-*.gguf")) if bench.shards else [base / f"{bench.name}.gguf"]
            if not (keep and paths and all(p.exists() for p in paths)):
                say(f"writing {bench.name} ...")
                paths = write_model(bench, base)
            size = sum(p.stat().st_size for p in paths)
            for run in bench.runs:
                theirs, lines = llama_cpp_load(paths[0], run)
                ours = rigfit_buffers(paths[0], run, hardware)
                rows.append(
                    {
                        "model": bench.name,
                        "arch": bench.spec.arch,
                        "file_mib": round(size / MIB, 2),
                        "shards": len(paths),
                        "context": run.context,
                        "cache": run.cache,
                        "flash_attention": run.flash,
                        "parallel": run.parallel,
                        "mmap": run.mmap,
                        "ubatch": run.ubatch,
                        "llama_cpp_mib": theirs,
                        "rigfit_mib": {k: round(v, 3) for k, v in ours.items()},
                        "llama_cpp_log": lines,
                    }
                )
                say(
                    f"{bench.name:17} ctx={run.context:6} np={run.parallel} mmap={int(run.mmap)} "
                    f"{run.cache:5} fa={int(run.flash)}  "
                    + "  ".join(f"{k} {ours[k]:8.2f}/{theirs[k]:8.2f}" for k in BUFFERS)
                )
            if keep is None:
                for p in paths:
                    p.unlink()
    return rows


# ------------------------------------------------------------------------------------------------- the doc


def totals(row: dict) -> tuple[float, float]:
    return sum(row["rigfit_mib"].values()), sum(row["llama_cpp_mib"].values())


def markdown(result: dict, notes: str) -> str:
    rows = result["runs"]
    ok = sum(within_target(*totals(r)) for r in rows)
    lines = [
        "## Memory",
        "",
        "Generated by `benchmarks/memory_vs_llamacpp.py` (data: `benchmarks/results/memory_llamacpp.json`). Each",
        "model is written with `gguf.GGUFWriter` (random valid quantized blocks), loaded by llama.cpp",
        f"(llama-cpp-python {result['llama_cpp_python']}, CPU backend, {result['cpu']}) and compared with the CPU",
        "row of `plan(...)` for the same machine without a GPU. MiB, **Rigfit / llama.cpp**. Target: each total",
        f"within 3 % or 64 MiB, whichever is larger: **{ok} of {len(rows)} runs** meet it.",
        "",
        "| model | file | ctx | np | cache | FA | weights | repack | KV | compute | output | total | diff | ok |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        o, t = r["rigfit_mib"], r["llama_cpp_mib"]
        tot_o, tot_t = totals(r)
        cells = " | ".join(_cell(o[k], t[k]) for k in BUFFERS)
        diff = 100 * (tot_o - tot_t) / tot_t
        shards = f" ({r['shards']} files)" if r["shards"] > 1 else ""
        shards += "" if r.get("mmap", True) else ", no mmap"
        shards += f", ubatch {r['ubatch']}" if r.get("ubatch", 512) != 512 else ""
        lines.append(
            f"| {r['model']}{shards} | {r['file_mib']:.0f} | {r['context']} | "
            f"{r.get('parallel', 1)} | {r['cache']} | "
            f"{'on' if r['flash_attention'] else 'off'} | {cells} | {tot_o:.1f} / {tot_t:.1f} | {diff:+.2f} % | "
            f"{'yes' if within_target(tot_o, tot_t) else '**no**'} |"
        )
    lines += ["", *findings(rows), "", notes.strip(), ""]
    return "\n".join(lines)


def findings(rows: list[dict]) -> list[str]:
    """What this run's numbers say, computed from them (so the prose cannot drift from the table)."""
    exact = {
        k: sum(abs(r["rigfit_mib"][k] - r["llama_cpp_mib"][k]) < 0.006 for r in rows) for k in BUFFERS if k != "compute"
    }
    n = len(rows)
    by_gap = sorted(rows, key=lambda r: -abs(r["rigfit_mib"]["compute"] - r["llama_cpp_mib"]["compute"]))
    gaps = [
        f"{r['model']} at {r['context']} ({r['cache']}, FA {'on' if r['flash_attention'] else 'off'}): "
        f"{r['rigfit_mib']['compute'] - r['llama_cpp_mib']['compute']:+.1f} MiB"
        for r in by_gap[:3]
    ]
    worst = max(rows, key=lambda r: abs(totals(r)[0] - totals(r)[1]) / totals(r)[1])
    ours, theirs = totals(worst)
    return [
        "Measured: " + ", ".join(f"`{k}` exact on {v} of {n} runs" for k, v in exact.items()) + "; the largest",
        f"compute-buffer differences are {'; '.join(gaps)}. The worst total is off by "
        f"{100 * abs(ours - theirs) / theirs:.1f} % ({ours - theirs:+.1f} MiB, {worst['model']} at "
        f"{worst['context']}).",
    ]


def _cell(ours: float, theirs: float) -> str:
    if abs(ours - theirs) < 0.006:  # llama.cpp logs two decimals
        return f"{theirs:.1f}" if theirs else "0"
    return f"{ours:.1f} / {theirs:.1f}"


NOTES = """
Columns: `weights` is llama.cpp's `CPU_Mapped model buffer size` (the file range the weights are mapped from; one
line per shard) or, without mmap, its `CPU model buffer`; `repack` its `CPU_REPACK` buffer (the Q4_0 / Q4_K /
IQ4_NL / MXFP4 matrices the AVX2 CPU backend re-lays out for faster matmuls: with mmap a copy on top of the
mapping, without mmap loaded there instead of the CPU buffer), `KV` the `CPU KV buffer` (both caches of
an SWA model), `compute` the `CPU compute buffer` and `output` the logits buffer. One number in a cell means both
agree to 0.01 MiB. `np` is the number of sequences (`-np`, one KV stream each: llama-server's layout when `-np` is given
without `--kv-unified`, as in Rigfit's command). Settings: `n_batch` 2048, `n_ubatch` 512, `swa_full` off,
mmap on, unless the row says otherwise.

Why the numbers differ where they do:

- **Repack (fixed).** The planner used to leave the `CPU_REPACK` copy out, so every Q4_0 / Q4_K / MXFP4 run missed
  by the whole repack column (190-410 MiB here, 20-45 % of the total). llama.cpp's CPU backend makes that copy for
  the types its CPU features allow (ggml-cpu `repack.cpp`, `ggml_repack_get_optimal_repack_type`: Q4_0, Q4_K, IQ4_NL
  and MXFP4 with AVX2 when the matrix has a multiple of 8 rows; Q4_0 / Q4_K / IQ4_NL / MXFP4 on ARM with dotprod or
  i8mm; Q2_K with AVX-512; only the AVX2 rules are measured here), and only when no GPU is in use (with one, CPU-
  held weights take the GPU's host buffer type, which comes first in llama.cpp's `make_cpu_buft_list`).
  `advisor/plan/memory.py` now counts it as anonymous memory; CPU-only plans that stream from disk drop it and pass
  `--no-repack`. Without mmap (`--no-mmap`) there is no copy: the repacked tensors load into `CPU_REPACK` instead of
  the CPU buffer (the `no mmap` rows). Tests: `tests/core/plan/test_memory_truth.py`.
- **Parallel sequences (fixed).** The planner sized `-np N` as one unified cache holding N sliding windows. Rigfit's
  command passes `-np N` without `--kv-unified`, so llama.cpp gives each sequence its own stream of
  `n_ctx_seq = pad(pad(n_ctx, 256) / N, 256)` cells (llama-context.cpp) with one window + ubatch per stream in
  the SWA layers (llama-kv-cache-iswa.cpp), and masks and attention scores span one stream. Before the fix gemma3
  at 32K with 4 sequences was 60 MiB short on the KV cache, and the dense model without flash attention at 16K
  with 4 sequences was planned with a 1074 MiB compute buffer instead of 286 MiB (4x the scores).
- **MLA (fixed).** llama.cpp runs DeepSeek-style attention as MLA only when the file has
  `attention.key_length_mla` and `value_length_mla` (`llama_hparams::is_mla()`; current conversions, with split
  `attn_k_b` / `attn_v_b`): then it caches one latent row (`key_length` = `kv_lora_rank` + rope dims) and no V.
  Older conversions without those keys run as plain multi-head attention and cache every head's K and V. The
  planner took any `kv_lora_rank` for MLA, so the `deepseek2-old` file was planned with 27 MiB of KV instead of
  240 MiB (and 108 instead of 960 at 16K). The compute model now also sizes MLA attention in the latent space
  (queries `kv_lora_rank` + rope wide per head, outputs `kv_lora_rank` wide before `wv_b`), which brought the
  run without flash attention from 47 to 22 MiB under.
- **NextN / MTP blocks (fixed).** GLM-4.5-style files store a multi-token-prediction head as the last block
  (`blk.N.nextn.*`). llama.cpp skips its tensors (`TENSOR_SKIP`: not loaded, not repacked, not offloaded) and gives
  it no KV cache (`n_layer_kv_from_start = n_layer - nextn_predict_layers`). The planner counted it as a normal
  block: 16 MiB of KV and 54 MiB of repack too much on the `glm4moe-nextn` file, and on a GPU one block of weights
  too many (GLM-4.5-Air: 128 experts x 3 x 4096 x 1408 = 2.2 billion weights, about 1.3 GB at 4.8 bits a weight).
  The block now stays in the file mapping, unread. Catalog entries without a tensor list cannot show it yet.
- **Compute buffer: a model, not a replay** of llama.cpp's graph allocator (docs/planner.md). Rigfit takes the
  largest live set: the KQ masks plus the biggest block phase plus two activations, or the logits of a whole
  ubatch plus two activations. For dense models with a real-sized vocabulary the logits phase decides and the
  numbers agree exactly. The differences that remain:
  - the MoE runs (qwen3moe, deepseek2, glm4moe) are not even monotonic in context in llama.cpp (qwen3moe: 72 MiB at
    4K, 96 at 8K, 72 at 16K in a side run, 110 at 32K, 114 at 64K): ggml-alloc reuses freed blocks best-fit, so the
    peak depends on where the 64 MiB logits tensor and the expert activations land, not only on what is alive at
    once (Rigfit is low at some contexts and high at 64K; the line above gives the sizes). A fragmentation allowance
    would trade one error for the other, so there is none;
  - +3 to +7 MiB more in llama.cpp without flash attention and with quantized caches: about one more
    `n_embd x n_ubatch` f32 tensor alive at the attention's peak; not traced tensor by tensor;
  - the Qwen3-0.6B shape: 12 MiB more in llama.cpp at 4K with flash attention, exact at 40K (the same allocator
    effect on top of its 297 MiB of logits);
  - gemma2: about 8 MiB more in llama.cpp, from its extra graph ops (logit soft-capping, post-norms);
  - MiniMax M2: Rigfit 4-15 MiB high: it counts the router and every expert intermediate alive at once, where the
    allocator reuses some in place.
  All are far inside the target; a GPU gets the same model plus its own reserve (docs/planner.md).
- **Not measured here:** GPU buffers (no GPU on this machine; the GPU formula is checked against a real
  MiniMax-M2.7 load log in docs/planner.md), weights staged in a GPU compute buffer at partial offload, a unified
  KV cache (`--kv-unified`, which Rigfit's command does not use), and CPUs that repack other types (newer
  llama.cpp builds also repack Q8_0 and some K-quants on ARM).
"""


def write_section(doc: Path, section: str) -> None:
    """Replace the '## Memory' section (up to the next '## ' heading) and keep every other section as it is."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Accuracy\n"
    # an older layout of this section, between markers
    text = re.sub(r"<!-- memory-benchmark:start -->.*?<!-- memory-benchmark:end -->\n?", "", text, flags=re.S)
    pattern = re.compile(r"^## Memory\b.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section.rstrip() + "\n\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    doc.write_text(re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated GGUFs in this folder")
    parser.add_argument("--only", action="append", help="measure only this model (repeatable)")
    parser.add_argument("--from-json", action="store_true", help="re-render the doc from the JSON; run nothing")
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(args.json.read_text(encoding="utf-8"))
    else:
        if not Path(BENCH_PYTHON).exists():
            print(f"No llama-cpp-python environment at {BENCH_PYTHON}; set RIGFIT_BENCH_PYTHON.", file=sys.stderr)
            return 2
        result = {
            "schema": SCHEMA,
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "llama_cpp_python": llama_cpp_version(),
            "cpu": f"{platform.machine()} {', '.join(cpu_features())}",
            "runs": measure(args.keep, set(args.only) if args.only else None),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    write_section(args.doc, markdown(result, NOTES))
    misses = [r for r in result["runs"] if not within_target(*totals(r))]
    print(f"{len(result['runs']) - len(misses)}/{len(result['runs'])} totals within target; wrote {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
