"""Rebuild resources/catalog/*.json from the sourced facts below.

Run: python resources/catalog/tools/build_catalog.py  (needs the ``gguf`` package for the ggml type sizes).

Why a script: several numbers in the catalog are *derived* (parameter counts per tensor class from a model's
config, bytes per class from a quant recipe, shard sizes from a total). Keeping the arithmetic here makes every
"basis": "derived: ..." reproducible. Published numbers (file sizes shown on Hugging Face pages, model cards)
are typed in below next to their source URL; nothing here downloads anything.

Class split of a quant's file size:
  1. list every tensor of the architecture (names as llama.cpp writes them) with its element count;
  2. give each tensor a ggml type by llama.cpp's ``llama_tensor_get_type`` rules for the file type (simplified:
     output -> q6_K, attn_v / ffn_down get q6_K on the "use_more_bits" layers for *_K_M, fallbacks when a row
     is not a multiple of the block), or by an explicit per-class recipe for unsloth "UD" quants;
  3. sum bytes per class (token_embd, output, dense, expert);
  4. when the real file size is published, keep token_embd and output as predicted and scale dense and
     expert by one common factor so that the classes sum to (size - header estimate). The deviation of the
     prediction from the published size is written into ``basis``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

OUT_DIR = Path(__file__).resolve().parent.parent
GB = 10**9
GIB = 2**30

TECH = "/work/shared/research/tech-facts.md"  # team research notes that quote the original pages


def type_size(name: str) -> tuple[int, int]:
    return GGML_QUANT_SIZES[GGMLQuantizationType[name.upper()]]


# --------------------------------------------------------------------------------------------------------------
# Architecture -> tensors


@dataclass(frozen=True)
class Tensor:
    name: str
    klass: str  # token_embd | output | dense | expert
    role: str  # norm | attn_q | attn_k | attn_v | attn_o | ffn_gate | ffn_up | ffn_down | exps_gate_up | ...
    ne0: int
    n: int
    layer: int = -1
    leading: bool = False  # a leading dense block (no experts)


@dataclass
class Arch:
    gguf_arch: str
    n_layer: int
    ctx: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    ff: int | None = None  # dense FFN (dense models and leading dense blocks)
    n_expert: int = 0
    n_used: int = 0
    expert_ff: int | None = None
    n_shared: int = 0
    shared_ff: int | None = None
    leading_dense: int = 0
    tied: bool = False
    qk_norm: bool = False
    gemma_norms: bool = False
    attn_bias: bool = False
    attn_sinks: bool = False
    expert_bias: bool = False
    exp_probs_b: bool = False
    mla: dict | None = None  # q_lora, kv_lora, nope, rope, v
    sliding_window: int | None = None
    swa_layers: list[int] | None = None
    rope_dim: int | None = None
    extra_layer_params: dict[int, int] = field(default_factory=dict)  # e.g. GLM NextN projection


def tensors(a: Arch) -> list[Tensor]:
    out: list[Tensor] = [Tensor("token_embd.weight", "token_embd", "token_embd", a.hidden, a.vocab * a.hidden)]
    out.append(Tensor("output_norm.weight", "output", "norm", a.hidden, a.hidden))
    if not a.tied:
        out.append(Tensor("output.weight", "output", "output", a.hidden, a.vocab * a.hidden))
    h = a.hidden
    for i in range(a.n_layer):
        lead = i < a.leading_dense
        d = []
        d.append(("attn_norm", "norm", h, h))
        if a.mla:
            m = a.mla
            d += [
                ("attn_q_a", "attn_q", h, h * m["q_lora"]),
                ("attn_q_a_norm", "norm", m["q_lora"], m["q_lora"]),
                ("attn_q_b", "attn_q", m["q_lora"], m["q_lora"] * a.heads * (m["nope"] + m["rope"])),
                ("attn_kv_a_mqa", "attn_k", h, h * (m["kv_lora"] + m["rope"])),
                ("attn_kv_a_norm", "norm", m["kv_lora"], m["kv_lora"]),
                ("attn_kv_b", "attn_v", m["kv_lora"], m["kv_lora"] * a.heads * (m["nope"] + m["v"])),
                ("attn_output", "attn_o", a.heads * m["v"], a.heads * m["v"] * h),
            ]
        else:
            q = a.heads * a.head_dim
            kv = a.kv_heads * a.head_dim
            d += [
                ("attn_q", "attn_q", h, h * q),
                ("attn_k", "attn_k", h, h * kv),
                ("attn_v", "attn_v", h, h * kv),
                ("attn_output", "attn_o", q, q * h),
            ]
            if a.attn_bias:
                d += [("attn_q.bias", "norm", q, q), ("attn_k.bias", "norm", kv, kv), ("attn_v.bias", "norm", kv, kv)]
            if a.attn_sinks:
                d += [("attn_output.bias", "norm", h, h), ("attn_sinks", "norm", a.heads, a.heads)]
        if a.qk_norm:
            d += [("attn_q_norm", "norm", a.head_dim, a.head_dim), ("attn_k_norm", "norm", a.head_dim, a.head_dim)]
        if a.gemma_norms:
            d += [("post_attention_norm", "norm", h, h), ("post_ffw_norm", "norm", h, h)]
        d.append(("ffn_norm", "norm", h, h))
        exps = []
        if lead or a.n_expert == 0:
            d += [
                ("ffn_gate", "ffn_gate", h, h * a.ff),
                ("ffn_up", "ffn_up", h, h * a.ff),
                ("ffn_down", "ffn_down", a.ff, a.ff * h),
            ]
        else:
            d.append(("ffn_gate_inp", "norm", h, h * a.n_expert))  # router: kept f32 by llama-quantize
            if a.expert_bias:
                d.append(("ffn_gate_inp.bias", "norm", a.n_expert, a.n_expert))
            if a.exp_probs_b:
                d.append(("exp_probs_b", "norm", a.n_expert, a.n_expert))
            if a.n_shared:
                sf = a.shared_ff * a.n_shared
                d += [
                    ("ffn_gate_shexp", "ffn_gate", h, h * sf),
                    ("ffn_up_shexp", "ffn_up", h, h * sf),
                    ("ffn_down_shexp", "ffn_down", sf, sf * h),
                ]
            e, ef = a.n_expert, a.expert_ff
            exps = [
                ("ffn_gate_exps", "exps_gate_up", h, e * h * ef),
                ("ffn_up_exps", "exps_gate_up", h, e * h * ef),
                ("ffn_down_exps", "exps_down", ef, e * ef * h),
            ]
            if a.expert_bias:
                exps += [
                    ("ffn_gate_exps.bias", "norm", ef, e * ef),
                    ("ffn_up_exps.bias", "norm", ef, e * ef),
                    ("ffn_down_exps.bias", "norm", h, e * h),
                ]
        extra = a.extra_layer_params.get(i)
        if extra:
            d.append(("nextn.eh_proj", "attn_o", 2 * h, extra))
        for name, role, ne0, n in d:
            out.append(Tensor(f"blk.{i}.{name}", "dense", role, ne0, n, i, lead))
        for name, role, ne0, n in exps:
            out.append(Tensor(f"blk.{i}.{name}", "expert", role, ne0, n, i, lead))
    return out


def params_by_class(a: Arch) -> dict:
    ts = tensors(a)
    by: dict[str, int] = {"token_embd": 0, "output": 0, "dense": 0, "expert": 0}
    for t in ts:
        by[t.klass] += t.n
    moe_layers = [i for i in range(a.n_layer) if i >= a.leading_dense] if a.n_expert else []
    per_dense = {}
    for t in ts:
        if t.klass == "dense":
            per_dense[t.layer] = per_dense.get(t.layer, 0) + t.n
    per_exp = {}
    for t in ts:
        if t.klass == "expert":
            per_exp[t.layer] = per_exp.get(t.layer, 0) + t.n
    total = sum(by.values())
    result = {
        "token_embd": by["token_embd"],
        "output": by["output"],
        "dense_per_layer": per_dense[a.n_layer - 1],
        "expert_per_layer": per_exp.get(a.n_layer - 1, 0),
        "dense_total": by["dense"],
        "expert_total": by["expert"],
        "total": total,
    }
    if a.leading_dense:
        result["leading_dense_per_layer"] = per_dense[0]
    if moe_layers:
        exp_layer = per_exp[moe_layers[-1]]
        used = exp_layer * a.n_used // a.n_expert
        result["active"] = total - by["token_embd"] - by["expert"] + used * len(moe_layers)
    else:
        result["active"] = total - by["token_embd"]
    return result


# --------------------------------------------------------------------------------------------------------------
# Quant recipes


def _more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


BASE = {
    "BF16": "bf16",
    "F16": "f16",
    "Q8_0": "q8_0",
    "Q6_K": "q6_K",
    "Q5_K_M": "q5_K",
    "Q4_K_M": "q4_K",
    "Q4_K_S": "q4_K",
    "Q4_0": "q4_0",
    "Q3_K_M": "q3_K",
    "IQ4_XS": "iq4_xs",
    "IQ3_M": "iq3_s",
}
FALLBACK = {
    "q2_K": "iq4_nl",
    "q3_K": "iq4_nl",
    "iq4_xs": "iq4_nl",
    "iq3_s": "iq4_nl",
    "q4_K": "q5_0",
    "q5_K": "q5_1",
    "q6_K": "q8_0",
}


def llama_type(t: Tensor, ftype: str, n_layer: int) -> str:
    """A simplified ``llama_tensor_get_type`` (llama.cpp src/llama-quant.cpp) for the common file types."""
    if t.role == "norm":
        return "f32"
    base = BASE[ftype]
    if ftype in ("BF16", "F16", "Q8_0"):
        return base
    i = t.layer
    if t.role == "output" or (t.role == "token_embd" and t.klass == "token_embd" and _tied(t)):
        ty = "q6_K"
    elif t.role == "token_embd":
        ty = base
    elif t.role == "attn_v":
        ty = base
        if ftype in ("Q4_K_M", "Q5_K_M") and _more_bits(i, n_layer):
            ty = "q6_K"
        elif ftype == "Q4_K_S" and i < 4:
            ty = "q5_K"
        elif ftype == "Q3_K_M":
            ty = "q5_K" if i < 2 else "q4_K"
        elif ftype == "IQ3_M":
            ty = "q4_K"
    elif t.role in ("ffn_down", "exps_down"):
        ty = base
        if ftype in ("Q4_K_M", "Q5_K_M") and _more_bits(i, n_layer):
            ty = "q6_K"
        elif ftype == "Q4_K_S" and i < n_layer // 8:
            ty = "q5_K"
        elif ftype == "Q3_K_M":
            ty = "q5_K" if i < n_layer // 16 else "q4_K"
        elif ftype == "IQ3_M":
            ty = "q4_K"
    elif t.role == "attn_o" and ftype in ("Q3_K_M", "IQ3_M"):
        ty = "q4_K"
    else:
        ty = base
    return _fit(ty, t.ne0)


_TIED: set[int] = set()


def _tied(t: Tensor) -> bool:
    return id(t) in _TIED


def _fit(ty: str, ne0: int) -> str:
    block = type_size(ty)[0]
    if ne0 % block == 0:
        return ty
    fb = FALLBACK.get(ty, "f16")
    return fb if ne0 % type_size(fb)[0] == 0 else "f16"


def recipe_type(t: Tensor, recipe: dict[str, str]) -> str:
    """Type from an explicit per-role recipe (unsloth dynamic quants, gpt-oss MXFP4 experts)."""
    if t.role == "norm":
        return "f32"
    for key in (t.name.split(".", 2)[-1].removesuffix(".weight"), t.role, t.klass, "default"):
        if key in recipe:
            ty = recipe[key]
            return ty if ty in ("f16", "bf16", "f32", "mxfp4") else _fit(ty, t.ne0)
    raise KeyError(t.name)


def class_bytes(a: Arch, ftype: str | None, recipe: dict[str, str] | None) -> tuple[dict[str, int], dict, set]:
    ts = tensors(a)
    _TIED.clear()
    if a.tied:
        _TIED.add(id(ts[0]))
    by = {"token_embd": 0, "output": 0, "dense": 0, "expert": 0, "dense_leading": 0}
    types: set[str] = set()
    expert_types: set[str] = set()
    for t in ts:
        ty = recipe_type(t, recipe) if recipe else llama_type(t, ftype, a.n_layer)
        block, size = type_size(ty)
        assert t.n % block == 0, (t.name, ty)
        b = t.n // block * size
        by[t.klass] += b
        if t.leading:
            by["dense_leading"] += b
        types.add(ty.lower())
        if t.klass == "expert" and t.role != "norm":
            expert_types.add(ty.lower())
    return by, expert_types, types


def header_estimate(a: Arch) -> int:
    """GGUF header allowance: 61 B per vocabulary entry + 64 B per tensor info + 4 KiB, rounded up to 4 KiB.

    Calibrated on three llama.cpp Q4_K_M files of Llama 3.x fine-tunes whose exact LFS sizes are public
    (LLAMA_HEADER_CHECKS): file size minus the recipe's tensor bytes is 7.83-7.84 MB for the 128256-token
    BPE vocabulary (tokens, scores, types and 280k merges) = 61 B per token. SentencePiece vocabularies
    without merges (Gemma) need less, so this is an upper-side allowance, not a measurement.
    """
    n_tensors = len(tensors(a))
    return int(math.ceil((a.vocab * 61 + n_tensors * 64 + 4096) / 4096) * 4096)


LLAMA_HEADER_CHECKS = [
    # (architecture key, exact file size in bytes, source)
    (
        "llama-3.1-8b",
        4_920_733_792,
        "https://huggingface.co/vitormesaque/irisk/commit/"
        "8f27900c83a729cd330bfbc07b415b33691af1b4 (LFS pointer: unsloth.Q4_K_M.gguf size 4920733792)",
    ),
    (
        "llama-3.2-1b",
        807_693_984,
        "https://huggingface.co/soumitsr/llama-v3p2-article-digestor-gguf/commit/"
        "032b4ccff3d4905948c95bbd3572f1a625d53bcd (LFS pointer: unsloth.Q4_K_M.gguf size 807693984)",
    ),
    (
        "llama-3.2-3b",
        2_019_377_984,
        "https://huggingface.co/fotiecodes/jarvis-small-3b/commit/"
        "6e1ec3172f5b837e346d0f00a2139a375ffdb05e (LFS pointer: unsloth.Q4_K_M.gguf size 2019377984)",
    ),
]


# --------------------------------------------------------------------------------------------------------------
# Catalog entries


def gb(x: float) -> int:
    return round(x * GB)


def shard_paths(folder: str | None, stem: str, n: int) -> list[str]:
    names = [f"{stem}.gguf"] if n == 1 else [f"{stem}-{k:05d}-of-{n:05d}.gguf" for k in range(1, n + 1)]
    return [f"{folder}/{x}" if folder else x for x in names]


def quant_size(a: Arch, ftype: str) -> int:
    """File size llama.cpp's rules for ``ftype`` give this architecture: tensor bytes + header allowance."""
    by, _, _ = class_bytes(a, ftype, None)
    return header_estimate(a) + by["token_embd"] + by["output"] + by["dense"] + by["expert"]


def file_rows(folder, stem, sizes, source, basis_of, sha256=None) -> list[dict]:
    """The catalog's per-file entries: shard paths with their sizes, one basis sentence each, known hashes."""
    hashes = sha256 or [None] * len(sizes)
    return [
        {"path": p, "size_bytes": s, "sha256": hashes[k], "source": source, "basis": basis_of(k)}
        for k, (p, s) in enumerate(zip(shard_paths(folder, stem, len(sizes)), sizes, strict=True))
    ]


def quant(
    a: Arch,
    name: str,
    *,
    folder: str | None,
    stem: str,
    source: str,
    sizes_gb: list[float] | None = None,
    sizes_bytes: list[int] | None = None,
    files_basis: str | list[str] | None = None,
    total_bytes: int | None = None,
    first_shard_bytes: int | None = None,
    total_basis: str | None = None,
    n_shards: int | None = None,
    shard_basis: str | None = None,
    ftype: str | None = None,
    recipe: dict[str, str] | None = None,
    recipe_basis: str = "",
    observed_types: list[str] | None = None,
    observed_expert_types: list[str] | None = None,
    types_source: str | None = None,
    sha256: list[str | None] | None = None,
    companions: list[dict] | None = None,
) -> dict:
    by, expert_types, types = class_bytes(a, ftype, recipe)
    header = header_estimate(a)
    predicted = header + by["token_embd"] + by["output"] + by["dense"] + by["expert"]
    notes = []
    if sizes_bytes is not None:
        # exact per-file byte counts (a file listing, a download manifest): no rounding, no even split
        sizes = list(sizes_bytes)
        size = sum(sizes)
        files = file_rows(
            folder,
            stem,
            sizes,
            source,
            lambda k: files_basis[k] if isinstance(files_basis, list) else files_basis or "published: exact size",
            sha256,
        )
        size_basis = total_basis or "published per-file exact byte sizes summed"
    elif sizes_gb is not None:
        sizes = [gb(s) for s in sizes_gb]
        size = sum(sizes)
        files = file_rows(
            folder,
            stem,
            sizes,
            source,
            lambda _k: "derived: size shown on the page (3 significant digits, decimal GB) x 1e9",
            sha256,
        )
        size_basis = "published per-file sizes summed; each is the page's decimal-GB figure x 1e9 (+-0.5% rounding)"
    else:
        if total_bytes is None:
            size = predicted
            size_basis = (
                f"derived: computed from the architecture with llama.cpp's {ftype} type rules "
                f"(sum of tensor bytes + header allowance {header} B)"
            )
        else:
            size = total_bytes
            size_basis = total_basis
        n = n_shards or 1
        if first_shard_bytes is not None and n > 1:
            # a metadata-only first shard (llama-gguf-split --no-tensor-first-split), the rest split evenly
            rest = size - first_shard_bytes
            per = rest // (n - 1)
            sizes = [first_shard_bytes] + [per] * (n - 2) + [rest - per * (n - 2)]
            even = f"; shard 1 taken as {first_shard_bytes:,} B, the rest of the total split evenly over the others"
        else:
            per = size // n
            sizes = [per] * (n - 1) + [size - per * (n - 1)]
            even = "; total split evenly over the shards"
        basis = (
            "derived: " + (shard_basis or "single file") + even
            if n > 1
            else "derived: single file of the quant's total size"
        )
        files = file_rows(folder, stem, sizes, source, lambda _k: basis, None)
    residual = size - predicted
    dev = residual / size * 100
    if sizes_bytes is not None or sizes_gb is not None or total_bytes is not None:
        # scale dense and expert to absorb the difference between recipe and real file
        scalable = by["dense"] + by["expert"]
        target = size - header - by["token_embd"] - by["output"]
        f = target / scalable
        dense = round(by["dense"] * f)
        expert = target - dense
        lead = round(by["dense_leading"] * f)
        notes.append(
            f"recipe prediction {predicted / GB:.2f} GB vs file {size / GB:.2f} GB ({dev:+.1f}%); dense and expert "
            f"scaled by {f:.4f} to match"
        )
    else:
        dense, expert, lead = by["dense"], by["expert"], by["dense_leading"]
    bbc = {"token_embd": by["token_embd"], "output": by["output"], "dense": dense, "expert": expert}
    if a.leading_dense and a.n_expert:
        bbc["dense_leading"] = lead
    assert sum(v for k, v in bbc.items() if k != "dense_leading") + header == size
    how = f"llama.cpp {ftype} rules" if ftype else "recipe " + json.dumps(recipe, sort_keys=True)
    basis = (
        f"derived: bytes per class from the tensor list of the architecture typed by {how}"
        + (f" ({recipe_basis})" if recipe_basis else "")
        + "; "
        + "; ".join(notes)
        + f"; header allowance {header} B = vocab x 61 B + 64 B per tensor + 4 KiB, rounded up to 4 KiB "
        "(calibrated on exact Llama 3.x Q4_K_M file sizes, see tools/build_catalog.py)"
    )
    if observed_types is not None:
        tensor_types, expert_list = sorted(observed_types), sorted(observed_expert_types or [])
        types_basis = types_source
    elif recipe_basis.startswith("assumed"):
        tensor_types, expert_list = [], []
        types_basis = (
            "unknown: no source shows this file's tensor types; the split above uses an assumed recipe, "
            "so no types are claimed (read the header to learn them)"
        )
    else:
        tensor_types, expert_list = sorted(types), sorted(expert_types)
        types_basis = f"derived: types the {how} assigns (not read from the file)"
    entry = {
        "quant": name,
        "files": files,
        "size_bytes": size,
        "size_basis": size_basis,
        "header_bytes": header,
        "bytes_by_class": bbc,
        "tensor_types": tensor_types,
        "expert_tensor_types": expert_list,
        "tensor_types_basis": types_basis,
        "source": source,
        "basis": basis,
    }
    if companions:
        entry["companions"] = companions
    return entry


def arch_json(a: Arch, p: dict, source: str, extra: dict | None = None) -> dict:
    d = {
        "architecture": a.gguf_arch,
        "block_count": a.n_layer,
        "context_length": a.ctx,
        "embedding_length": a.hidden,
        "feed_forward_length": a.ff if a.ff is not None else a.expert_ff,
        "head_count": a.heads,
        "head_count_kv": a.kv_heads,
        "key_length": a.head_dim,
        "value_length": a.head_dim,
        "rope_dimension_count": a.rope_dim,
        "sliding_window": a.sliding_window,
        "sliding_window_layers": a.swa_layers,
        "kv_lora_rank": None,
        "key_length_mla": None,
        "value_length_mla": None,
        "expert_count": a.n_expert,
        "expert_used_count": a.n_used,
        "expert_feed_forward_length": a.expert_ff,
        "expert_shared_count": a.n_shared,
        "leading_dense_block_count": a.leading_dense,
        "vocab_size": a.vocab,
        "tie_word_embeddings": a.tied,
        "total_params": p["total"],
        "active_params": p["active"],
        "source": source,
        "basis": "total_params and active_params derived: sum of the tensor element counts listed in "
        "params_by_class (active = all non-expert parameters except token_embd + used/total of the experts)",
    }
    if extra:
        d.update(extra)
    return d


def entry(
    order: int,
    mid: str,
    name: str,
    repo: str,
    base: str,
    licence: dict,
    a: Arch,
    arch_source: str,
    quants: list[dict],
    arch_extra: dict | None = None,
    notes: list[str] | None = None,
) -> dict:
    p = params_by_class(a)
    pbc = {k: v for k, v in p.items() if k not in ("total", "active")}
    pbc["basis"] = (
        "derived: element counts of every tensor llama.cpp writes for this architecture (token_embd = vocab x "
        "hidden; output = output.weight + output_norm; dense = attention, norms, router, dense/shared FFN; "
        "expert = ffn_{gate,up,down}_exps), from the config values in architecture.source; "
        "tools/build_catalog.py shows the arithmetic"
    )
    d = {
        "schema": "rigfit.catalog/1",
        "id": mid,
        "name": name,
        "order": order,
        "repo": repo,
        "base_model": base,
        "license": licence,
        "architecture": arch_json(a, p, arch_source, arch_extra),
        "params_by_class": pbc,
        "quants": quants,
    }
    if notes:
        d["notes"] = notes
    return d


def write(d: dict, out_dir: Path = OUT_DIR, verbose: bool = True) -> None:
    path = out_dir / f"{d['id']}.json"
    path.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n")
    for q in d["quants"] if verbose else ():
        print(f"{d['id']:28s} {q['quant']:12s} {q['size_bytes'] / GB:8.2f} GB  {q['basis'].split('; ')[1][:90]}")


# ==============================================================================================================
# The models. Every published number sits next to its source URL.

HF = "https://huggingface.co"


def lic(card: str | None, name: str | None, base: str | None, source: str, **extra: str) -> dict:
    d = {"card_license": card, "card_license_name": name, "base_license": base, "source": source}
    d.update(extra)
    return d


def minimax_arch() -> Arch:
    """MiniMax M2.x as llama.cpp writes it (values from the GGUF header in tech-facts s.1)."""
    return Arch(
        "minimax-m2",
        62,
        196608,
        3072,
        48,
        8,
        128,
        200064,
        ff=None,
        n_expert=256,
        n_used=8,
        expert_ff=1536,
        qk_norm=True,
        exp_probs_b=True,
        rope_dim=64,
    )


# Observed unsloth recipe of MiniMax-M2.7-UD-IQ2_XXS (llama.cpp load log: f32 373, q5_K 248, q4_K 2,
# iq2_xxs 124, iq2_s 62); the tensor-to-type assignment is inferred from those counts.
MINIMAX_UD_IQ2_XXS_RECIPE = {
    "token_embd": "q4_K",
    "output": "q4_K",
    "dense": "q5_K",
    "exps_gate_up": "iq2_xxs",
    "exps_down": "iq2_s",
}


def minimax() -> dict:
    a = minimax_arch()
    repo = "unsloth/MiniMax-M2.7-GGUF"
    src_issue = (
        f"{HF}/{repo} - sizes as quoted in issue 3 of this project and {TECH} section 1 (unsloth M2.7 quant list)"
    )
    gold = (
        f"{HF}/Goldkoron/MiniMax-M2.7 (README table 'vs Standard Quants (unsloth)': BPW per unsloth quant; "
        "mirror https://fast.hugflare.com/Goldkoron/MiniMax-M2.7/blob/main/README.md)"
    )
    params = 228_690_000_000  # llama.cpp 'model params = 228.69 B'
    ivy = "https://github.com/arahe-dev/ivy/blob/6de91a57a56442eb3ce2529efd29133f358c7ff1/minimax_probe"
    src_iq2_xxs = (
        f"{ivy}/MINIMAX_PROBE_REPORT.md (a user's probe of the unsloth/MiniMax-M2.7-GGUF UD-IQ2_XXS files, "
        "2026-04-25: 'Observed shard sizes' 8,237,824 / 49,754,838,912 / 15,618,537,024 bytes) and "
        f"{ivy}/cpu_server_stderr.txt (llama.cpp b8920 load log of the same files: quantized_by Unsloth, "
        "file type IQ2_XXS, split.count 3, 'file size = 60.88 GiB (2.29 BPW)', tensor types f32 373, q4_K 2, "
        "q5_K 248, iq2_xxs 124, iq2_s 62)"
    )
    src_iq4_xs = (
        "https://modelscope.cn/models/unsloth/MiniMax-M2.7-GGUF (ModelScope mirror of the Hub repo, folder "
        "UD-IQ4_XS): exact shard sizes 8237824 / 49638761280 / 49598675552 / 9168106656 bytes, the "
        "'expected_size' list of a public download script (dl_ms_enhanced.sh, a GitHub file found by exact-"
        "string search in the stored code index, which does not name its repository); the same four files "
        "show as 7.9M / 47G / 47G / 8.6G in `ls -lh` in https://github.com/my-other-github-account/"
        "minimax-m27-dflash-end-to-end-DRAFT/blob/aaa9b3749a1e0106d797952e3b3f24ebd38f2dec/artifacts/"
        "manifest_hashes.txt (downloaded Apr 28, 2026)"
    )

    snap = "04ab68de18da5486aa9869e3bc72f0249ef51f89"
    src_snapshot = (
        f"{HF}/{repo}/tree/{snap} (the Hub's per-quant display sizes, decimal GB to 3 significant digits, at "
        "that commit, as transcribed on 2026-07-18 in a public GitHub note 'Converter quantization option "
        "snapshots' found in the stored code index, which does not name its repository): UD-IQ1_M 60.7, "
        "UD-IQ2_XXS 65.4, UD-IQ2_M 70.1, UD-Q2_K_XL 75.3, UD-IQ3_XXS 80.1, UD-IQ3_S 83.6, UD-Q3_K_S 93.6, "
        "UD-Q3_K_M 101, UD-Q3_K_XL 102, UD-IQ4_XS 108, UD-Q4_K_S 131, MXFP4_MOE 136, UD-IQ4_NL 111, "
        "UD-Q4_K_M 140, UD-Q4_K_XL 141, UD-Q5_K_S 159, UD-Q5_K_M 169, UD-Q5_K_XL 169, UD-Q6_K 188, "
        "UD-Q6_K_XL 207, Q8_0 243, UD-Q8_K_XL 247, BF16 457 GB"
    )
    src_q6_k_xl = (
        f"{HF}/{repo}/tree/{snap}/UD-Q6_K_XL (file list as transcribed in a public GitHub preflight note found "
        "in the stored code index: MiniMax-M2.7-UD-Q6_K_XL-0000k-of-00006.gguf, display sizes 8.24 MB, 49.0, "
        "49.7, 49.7, 49.7 GB, shard 6 not shown; quant total 207 GB) and issue 3 of this project (207 GB)"
    )
    # Every quantized M2.7 upload whose file list was found has a metadata-only shard 1 of 8,237,824 B
    # (UD-IQ2_XXS, UD-IQ4_XS exact; UD-Q6_K_XL 8.24 MB) followed by shards of at most 50 GB (49.0-49.75 GB
    # seen); that rule gives the shard count seen for all ten quants with a known count (UD-IQ2_XXS 3,
    # UD-Q2_K_XL 3, UD-IQ3_XXS 3, UD-IQ3_S 3, UD-IQ4_XS 4, UD-Q4_K_M 4, UD-Q4_K_XL 4, UD-Q5_K_XL 5,
    # UD-Q6_K_XL 6, Q8_0 6). BF16 (10 shards for 457 GB) was split differently and is not covered.
    meta_shard = 8_237_824
    layout_rule = (
        "inferred: shard 1 holds only the GGUF metadata (8,237,824 B in the UD-IQ2_XXS and UD-IQ4_XS listings) "
        "and the rest is cut into shards of at most 50 GB, the layout of every M2.7 quant whose file list was "
        "found; not read from this quant's own file list"
    )

    def n_shards_by_rule(total: int) -> int:
        return 1 + math.ceil((total - meta_shard) / (50 * GB))

    def from_bpw(bpw: float) -> int:
        return round(params * bpw / 8)

    # unsloth dynamic recipes (assumed unless observed): experts low-bit, attention and embeddings high-bit
    ud = {
        "UD-IQ1_M": {
            "token_embd": "q4_K",
            "output": "q6_K",
            "dense": "q4_K",
            "exps_gate_up": "iq1_m",
            "exps_down": "iq2_xxs",
        },
        "UD-IQ2_M": {
            "token_embd": "q4_K",
            "output": "q6_K",
            "dense": "q5_K",
            "exps_gate_up": "iq2_xxs",
            "exps_down": "iq2_s",
        },
        "UD-IQ3_XXS": {
            "token_embd": "q5_K",
            "output": "q6_K",
            "dense": "q6_K",
            "exps_gate_up": "iq3_xxs",
            "exps_down": "iq3_xxs",
        },
        "UD-IQ3_S": {
            "token_embd": "q6_K",
            "output": "q6_K",
            "dense": "q6_K",
            "exps_gate_up": "iq2_s",
            "exps_down": "iq3_s",
        },
        "UD-Q3_K_M": {
            "token_embd": "q6_K",
            "output": "q6_K",
            "dense": "q6_K",
            "exps_gate_up": "q3_K",
            "exps_down": "q4_K",
        },
        "UD-IQ4_XS": {
            "token_embd": "q6_K",
            "output": "q6_K",
            "dense": "q6_K",
            "exps_gate_up": "iq4_xs",
            "exps_down": "iq4_xs",
        },
        "UD-Q4_K_M": {
            "token_embd": "q6_K",
            "output": "q6_K",
            "dense": "q8_0",
            "exps_gate_up": "q4_K",
            "exps_down": "q6_K",
        },
        "UD-Q6_K_XL": {
            "token_embd": "q8_0",
            "output": "q8_0",
            "dense": "q8_0",
            "exps_gate_up": "q6_K",
            "exps_down": "q6_K",
        },
    }
    assumed = "assumed unsloth dynamic mix: experts at the low-bit type, attention/embeddings higher; not observed"
    qs = [
        quant(
            a,
            "UD-IQ1_M",
            folder="UD-IQ1_M",
            stem="MiniMax-M2.7-UD-IQ1_M",
            source=src_issue,
            total_bytes=gb(60.7),
            total_basis="published: 60.7 GB (issue 3 / unsloth M2.7 file list; the Hub's display size at "
            f"commit {snap[:8]} says the same)",
            n_shards=n_shards_by_rule(gb(60.7)),
            first_shard_bytes=meta_shard,
            shard_basis=f"{n_shards_by_rule(gb(60.7))} shards, {layout_rule}",
            recipe=ud["UD-IQ1_M"],
            recipe_basis=assumed,
        ),
        quant(
            a,
            "UD-IQ2_XXS",
            folder="UD-IQ2_XXS",
            stem="MiniMax-M2.7-UD-IQ2_XXS",
            source=src_iq2_xxs,
            sizes_bytes=[8_237_824, 49_754_838_912, 15_618_537_024],
            files_basis="published: exact size in bytes as observed on disk after download (probe report); "
            "shard 1 holds only the GGUF metadata",
            total_basis="published: sum of the three exact shard sizes observed on disk (probe report, "
            "2026-04-25); llama.cpp's 'file size = 60.88 GiB' in the load log of the same files agrees "
            "(tensor bytes only)",
            recipe=MINIMAX_UD_IQ2_XXS_RECIPE,
            recipe_basis="observed tensor counts in the load log: f32 373, q5_K 248 (4 attention tensors x 62), "
            "q4_K 2 (token_embd + output), iq2_xxs 124 (ffn_gate/up_exps), iq2_s 62 (ffn_down_exps); which "
            "tensor has which type is inferred from those counts",
            observed_types=["f32", "iq2_s", "iq2_xxs", "q4_k", "q5_k"],
            observed_expert_types=["iq2_s", "iq2_xxs"],
            types_source="observed: llama.cpp load log of the file (f32 373, q4_K 2, q5_K 248, iq2_xxs 124, "
            f"iq2_s 62), {ivy}/cpu_server_stderr.txt",
        ),
        quant(
            a,
            "UD-IQ2_M",
            folder="UD-IQ2_M",
            stem="MiniMax-M2.7-UD-IQ2_M",
            source=src_snapshot,
            total_bytes=gb(70.1),
            total_basis="published: 70.1 GB, the Hub's display size (3 significant digits) x 1e9; replaces the "
            f"earlier estimate 2.45 BPW ({gold}) x 228.69e9 / 8 = {from_bpw(2.45) / GB:.2f} GB",
            n_shards=n_shards_by_rule(gb(70.1)),
            first_shard_bytes=meta_shard,
            shard_basis=f"{n_shards_by_rule(gb(70.1))} shards, {layout_rule}",
            recipe=ud["UD-IQ2_M"],
            recipe_basis=assumed,
        ),
        quant(
            a,
            "UD-IQ3_XXS",
            folder="UD-IQ3_XXS",
            stem="MiniMax-M2.7-UD-IQ3_XXS",
            source=src_issue,
            total_bytes=gb(80.10),
            total_basis="published: 80.10 GB (public copy pinned to "
            "unsloth/MiniMax-M2.7-GGUF@d2a05ccf, tech-facts s.1)",
            n_shards=3,
            first_shard_bytes=meta_shard,
            shard_basis="3 shards (tech-facts s.1 'UD-IQ3_XXS (3 shards)'), as the layout rule also gives; "
            + layout_rule,
            recipe=ud["UD-IQ3_XXS"],
            recipe_basis=assumed,
        ),
        quant(
            a,
            "UD-IQ3_S",
            folder="UD-IQ3_S",
            stem="MiniMax-M2.7-UD-IQ3_S",
            source=src_issue,
            total_bytes=round(77.86 * GIB),
            total_basis="published: llama.cpp load log 'file size = 77.86 GiB "
            "(2.92 BPW)' of MiniMax-M2.7-UD-IQ3_S-00001-of-00003.gguf (tech-facts s.1); x 2^30",
            n_shards=3,
            shard_basis="split.count = 3 in the same log",
            recipe=ud["UD-IQ3_S"],
            recipe_basis="observed tensor counts in the load log: f32 373, q6_K 250 (4 attention tensors x 62 "
            "+ token_embd + output), iq3_s 62 (ffn_down_exps), iq2_s 124 (ffn_gate/up_exps)",
            observed_types=["f32", "iq2_s", "iq3_s", "q6_k"],
            observed_expert_types=["iq2_s", "iq3_s"],
            types_source="observed: llama.cpp load log of the file (tech-facts s.1: f32 373, q6_K 250, "
            "iq3_s 62, iq2_s 124)",
        ),
        quant(
            a,
            "UD-Q3_K_M",
            folder="UD-Q3_K_M",
            stem="MiniMax-M2.7-UD-Q3_K_M",
            source=src_snapshot,
            total_bytes=gb(101),
            total_basis="published: 101 GB, the Hub's display size (3 significant digits) x 1e9; replaces the "
            f"earlier estimate 3.54 BPW ({gold}) x 228.69e9 / 8 = {from_bpw(3.54) / GB:.2f} GB",
            n_shards=n_shards_by_rule(gb(101)),
            first_shard_bytes=meta_shard,
            shard_basis=f"{n_shards_by_rule(gb(101))} shards, {layout_rule}",
            recipe=ud["UD-Q3_K_M"],
            recipe_basis=assumed,
        ),
        quant(
            a,
            "UD-IQ4_XS",
            folder="UD-IQ4_XS",
            stem="MiniMax-M2.7-UD-IQ4_XS",
            source=src_iq4_xs,
            sizes_bytes=[8_237_824, 49_638_761_280, 49_598_675_552, 9_168_106_656],
            files_basis="published: exact size in bytes (download manifest of the ModelScope mirror); shard 1 "
            "holds only the GGUF metadata",
            total_basis=f"published: sum of the four exact shard sizes = {108_413_781_312 / GB:.2f} GB; replaces "
            f"the earlier estimate 3.79 BPW ({gold}) x 228.69e9 / 8 = {from_bpw(3.79) / GB:.2f} GB "
            "(+0.07%); agrees with unsloth's 'Dynamic 4-bit ... 457GB -> 108GB' (tech-facts s.1)",
            recipe=ud["UD-IQ4_XS"],
            recipe_basis=assumed,
        ),
        quant(
            a,
            "UD-Q4_K_M",
            folder="UD-Q4_K_M",
            stem="MiniMax-M2.7-UD-Q4_K_M",
            source=src_issue,
            total_bytes=gb(140),
            total_basis="published: 140 GB (issue 3); Goldkoron README gives 4.90 BPW = 140.1 GB, consistent",
            n_shards=4,
            first_shard_bytes=meta_shard,
            shard_basis=f"4 shards (tech-facts s.1 'UD-Q4_K_M (4)'), as the layout rule also gives; {layout_rule}",
            recipe=ud["UD-Q4_K_M"],
            recipe_basis=assumed + "; unsloth re-released M2.7 quants to avoid q4_K "
            "ffn_down_exps after the CUDA NaN report (ik_llama.cpp#1656), so down is q6_K here",
        ),
        quant(
            a,
            "UD-Q6_K_XL",
            folder="UD-Q6_K_XL",
            stem="MiniMax-M2.7-UD-Q6_K_XL",
            source=src_q6_k_xl,
            sizes_bytes=[8_240_000, gb(49.0), gb(49.7), gb(49.7), gb(49.7), gb(207) - 8_240_000 - gb(49.0 + 3 * 49.7)],
            files_basis=["published: display size 8.24 MB x 1e6 (the metadata-only shard)"]
            + ["published: display size (3 significant digits, decimal GB) x 1e9"] * 4
            + ["derived: the quant's 207 GB less the five shown shards (this shard's size is not shown)"],
            total_basis=f"published: 207 GB (issue 3 and the Hub's display size at commit {snap[:8]}), x 1e9",
            recipe=ud["UD-Q6_K_XL"],
            recipe_basis=assumed,
        ),
        quant(
            a,
            "Q8_0",
            folder="Q8_0",
            stem="MiniMax-M2.7-Q8_0",
            source=src_snapshot + "; shard names as "
            f"{HF}/{repo}/blob/main/Q8_0/MiniMax-M2.7-Q8_0-00001-of-00006.gguf, the path several independent "
            "public GitHub configs load (found by exact-string search in the stored code index)",
            ftype="Q8_0",
            total_bytes=gb(243),
            total_basis="published: 243 GB, the Hub's display size (3 significant digits) x 1e9; llama.cpp's "
            f"Q8_0 rules give {quant_size(a, 'Q8_0') / GB:.2f} GB from the architecture, consistent",
            n_shards=6,
            first_shard_bytes=meta_shard,
            shard_basis="6 shards, as the public configs name the first shard '...-00001-of-00006.gguf' "
            f"(not checked against the live repo), which the layout rule also gives; {layout_rule}",
        ),
        quant(
            a,
            "BF16",
            folder="BF16",
            stem="MiniMax-M2.7-BF16",
            source=src_issue,
            total_bytes=gb(457),
            total_basis="published: 457 GB (issue 3); = 228.69e9 x 2 B",
            n_shards=10,
            shard_basis="10 shards = ceil(457 / 50)",
            ftype="BF16",
        ),
    ]
    # The other folders at commit `snap`: display size only; tensor types unknown (assumed recipes split the
    # size into classes, scaled to the real total). Shard counts from public configs where one names the first
    # shard, else from the layout rule.
    seen_in = {
        "UD-Q2_K_XL": "a public benchmark script loads ~/.cache/huggingface/hub/models--unsloth--MiniMax-M2.7-"
        "GGUF/snapshots/d2a05ccf69491b03db0cc40b335aec14bdaf7198/UD-Q2_K_XL/MiniMax-M2.7-UD-Q2_K_XL-00001-of-"
        "00003.gguf (stored code index)",
        "UD-Q4_K_XL": "several public configs load UD-Q4_K_XL/MiniMax-M2.7-UD-Q4_K_XL-00001-of-00004.gguf "
        "(stored code index)",
        "UD-Q5_K_XL": "a public config pinned to revision d2a05ccf69491b03db0cc40b335aec14bdaf7198 names "
        "UD-Q5_K_XL/MiniMax-M2.7-UD-Q5_K_XL-00001-of-00005.gguf (stored code index; a third-party test fixture's "
        "'-of-00004' name disagrees and is not used)",
    }
    table = [
        ("UD-Q2_K_XL", 75.3, {"dense": "q6_K", "exps_gate_up": "q2_K", "exps_down": "q3_K"}),
        ("UD-Q3_K_S", 93.6, {"dense": "q6_K", "exps_gate_up": "q3_K", "exps_down": "q3_K"}),
        ("UD-Q3_K_XL", 102, {"dense": "q8_0", "exps_gate_up": "q3_K", "exps_down": "q4_K"}),
        ("UD-IQ4_NL", 111, {"dense": "q6_K", "exps_gate_up": "iq4_nl", "exps_down": "iq4_nl"}),
        ("UD-Q4_K_S", 131, {"dense": "q6_K", "exps_gate_up": "q4_K", "exps_down": "q5_K"}),
        ("MXFP4_MOE", 136, {"dense": "q8_0", "exps_gate_up": "mxfp4", "exps_down": "mxfp4"}),
        ("UD-Q4_K_XL", 141, {"dense": "q8_0", "exps_gate_up": "q4_K", "exps_down": "q6_K"}),
        ("UD-Q5_K_S", 159, {"dense": "q6_K", "exps_gate_up": "q5_K", "exps_down": "q5_K"}),
        ("UD-Q5_K_M", 169, {"dense": "q8_0", "exps_gate_up": "q5_K", "exps_down": "q6_K"}),
        ("UD-Q5_K_XL", 169, {"dense": "q8_0", "exps_gate_up": "q5_K", "exps_down": "q6_K"}),
        ("UD-Q6_K", 188, {"dense": "q8_0", "exps_gate_up": "q6_K", "exps_down": "q6_K"}),
        ("UD-Q8_K_XL", 247, {"dense": "bf16", "exps_gate_up": "q8_0", "exps_down": "q8_0"}),
    ]
    for tag, display_gb, mix in table:
        n = n_shards_by_rule(gb(display_gb))
        shard_basis = f"{n} shards, {layout_rule}"
        if tag in seen_in:
            shard_basis = f"{n} shards: {seen_in[tag]}; the layout rule gives the same count; {layout_rule}"
        qs.append(
            quant(
                a,
                tag,
                folder=tag,
                stem=f"MiniMax-M2.7-{tag}",
                source=src_snapshot,
                total_bytes=gb(display_gb),
                total_basis=f"published: {display_gb} GB, the Hub's display size (3 significant digits) x 1e9",
                n_shards=n,
                first_shard_bytes=meta_shard,
                shard_basis=shard_basis,
                recipe={"token_embd": "q8_0", "output": "q8_0", **mix},
                recipe_basis=assumed,
            )
        )
    qs.sort(key=lambda q: q["size_bytes"])
    cfg = (
        f"{HF}/amd/MiniMax-M2.7-BF16/blob/main/config.json and {HF}/MiniMaxAI/MiniMax-M2/blob/refs%2Fpr%2F57/"
        "config.json (config); GGUF header values from the llama.cpp load log of "
        "MiniMax-M2.7-UD-IQ3_S-00001-of-00003.gguf (context_length 196608, block_count 62, 256x4.9B); "
        f"all quoted in {TECH} section 1"
    )
    licence = lic(
        "other",
        "modified-mit",
        "minimax-m2.7",
        f"{HF}/MiniMaxAI/MiniMax-M2.7/commit/edf8030bc287b531e4c9af83df92f96489d910c0 (LICENSE: grant "
        "'for non-commercial purposes'; commercial use needs written authorization) and the unsloth/"
        "bartowski cards saying license: other, license_name: modified-mit (tech-facts s.1)",
        card_license_link=f"{HF}/MiniMaxAI/MiniMax-M2.7/blob/main/LICENSE",
    )
    return entry(
        0,
        "minimax-m2.7",
        "MiniMax M2.7",
        repo,
        "MiniMaxAI/MiniMax-M2.7",
        licence,
        a,
        cfg,
        qs,
        arch_extra={
            "expert_gating_func": "sigmoid",
            "size_label": "256x4.9B",
            "params_check": "llama.cpp prints model params = 228.69 B (tech-facts s.1)",
        },
        notes=[
            "Quant repos label the licence modified-mit; the base model's LICENSE is non-commercial.",
            "unsloth's M2.7 uploads put only the GGUF metadata (8,237,824 bytes) in shard 1 (observed for "
            "UD-IQ2_XXS and UD-IQ4_XS) and cut the rest into shards of at most 50 GB. Where a quant's own file "
            "list was not found, its shards follow that layout with the rest of its published total split "
            "evenly: the per-shard figures are estimates, only the total is published.",
        ],
    )


def bartowski_llama(
    order: int,
    mid: str,
    name: str,
    repo: str,
    base: str,
    stem: str,
    a: Arch,
    lic_id: str,
    cfg: str,
    published: list[tuple],
    folder_split: bool = False,
) -> dict:
    qs = []
    for item in published:
        q, sizes, src = item[0], item[1], item[2]
        sha = item[3] if len(item) > 3 else None
        ft = {"BF16": "BF16", "F16": "F16"}.get(q, q)
        file_stem = f"{stem}-{q.lower() if q in ('BF16', 'F16') else q}"
        folder = f"{stem}-{q}" if (folder_split and len(sizes) > 1) else None
        qs.append(quant(a, q, folder=folder, stem=file_stem, source=src, sizes_gb=sizes, ftype=ft, sha256=sha))
    licence = lic(
        lic_id, None, lic_id, f"{HF}/{repo} (tree page shows 'License: {lic_id}'); base model card {HF}/{base}"
    )
    return entry(order, mid, name, repo, base, licence, a, cfg, qs)


def llamas() -> list[dict]:
    out = []
    a1 = Arch("llama", 16, 131072, 2048, 32, 8, 64, 128256, ff=8192, tied=True, rope_dim=64)
    t1 = f"{HF}/bartowski/Llama-3.2-1B-Instruct-GGUF/tree/a621b9e0ff785d79163f5cfcf0cad1ebb685abd4 (file list)"
    t1b = f"{HF}/bartowski/Llama-3.2-1B-Instruct-GGUF/tree/75d9ce89a396904281ff206512df71234e2ba5ef (file list)"
    out.append(
        bartowski_llama(
            10,
            "llama-3.2-1b-instruct",
            "Llama 3.2 1B Instruct",
            "bartowski/Llama-3.2-1B-Instruct-GGUF",
            "meta-llama/Llama-3.2-1B-Instruct",
            "Llama-3.2-1B-Instruct",
            a1,
            "llama3.2",
            f"{HF}/meta-llama/Llama-3.2-1B-Instruct/blob/main/config.json (16 layers, hidden 2048, 32 heads, "
            "8 KV heads, "
            "head_dim 64, intermediate 8192, vocab 128256, max_position_embeddings 131072, tie_word_embeddings true)",
            [
                ("IQ4_XS", [0.743], t1),
                ("Q4_K_M", [0.808], t1),
                ("Q5_K_M", [0.912], t1b),
                ("Q6_K", [1.02], t1b),
                ("Q8_0", [1.32], t1b),
            ],
        )
    )
    a3 = Arch("llama", 28, 131072, 3072, 24, 8, 128, 128256, ff=8192, tied=True, rope_dim=128)
    b3 = f"{HF}/bartowski/Llama-3.2-3B-Instruct-GGUF/blob"
    out.append(
        bartowski_llama(
            11,
            "llama-3.2-3b-instruct",
            "Llama 3.2 3B Instruct",
            "bartowski/Llama-3.2-3B-Instruct-GGUF",
            "meta-llama/Llama-3.2-3B-Instruct",
            "Llama-3.2-3B-Instruct",
            a3,
            "llama3.2",
            f"{HF}/meta-llama/Llama-3.2-3B-Instruct/blob/main/config.json (28 layers, hidden 3072, 24 heads, "
            "8 KV heads, "
            "head_dim 128, intermediate 8192, vocab 128256, max_position_embeddings 131072, tie_word_embeddings true)",
            [
                (
                    "Q4_K_S",
                    [1.93],
                    f"{b3}/9bbe3e9ebbfac4b071a5686c07cdc0ea3b681d68/Llama-3.2-3B-Instruct-Q4_K_S.gguf "
                    "(Size of remote file: 1.93 GB)",
                    ["bfb5db97e77e3927e18d971806e36d1886271d6c62e160d5bc78bcdbefb7197c"],
                ),
                (
                    "Q4_K_M",
                    [2.02],
                    f"{b3}/c346bfc2029e79ba6d7edf026cf01fe44242db0d/Llama-3.2-3B-Instruct-Q4_K_M.gguf "
                    "(Size of remote file: 2.02 GB)",
                    ["6c1a2b41161032677be168d354123594c0e6e67d2b9227c84f296ad037c728ff"],
                ),
                (
                    "Q5_K_M",
                    [2.32],
                    f"{b3}/160b1f96c09b162843e6aafcce507ff45438b56e/Llama-3.2-3B-Instruct-Q5_K_M.gguf "
                    "(Size of remote file: 2.32 GB)",
                    ["0b94ccd04d908304cec5246a3d942b64417a423bc5c6d47c73bc557e590b5194"],
                ),
                (
                    "Q8_0",
                    [3.42],
                    f"{b3}/3eb9d5b94fb6145e371670e386bbffe6a4183e00/Llama-3.2-3B-Instruct-Q8_0.gguf "
                    "(Size of remote file: 3.42 GB)",
                    ["b5607b5090a8280063fff2d706bb3408ca6542341b06aab39c3eca0a28575921"],
                ),
            ],
        )
    )
    a8 = Arch("llama", 32, 131072, 4096, 32, 8, 128, 128256, ff=14336, rope_dim=128)
    t8 = f"{HF}/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/tree/256b6230d2324b6707e5136a0b29a6dadf5b52f1 (file list)"
    t8b = f"{HF}/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/tree/4c506ee36f8097e80414dd2ed2dcf7055cae89e5 (file list)"
    t8c = f"{HF}/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/tree/83ffb2295ac9edf65f3650d772c2d6aed6bbcbc4 (file list)"
    t8d = f"{HF}/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/tree/e781cb408ef3111b8da52b3fa4877572bf27c19e (file list)"
    out.append(
        bartowski_llama(
            12,
            "llama-3.1-8b-instruct",
            "Llama 3.1 8B Instruct",
            "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
            "meta-llama/Llama-3.1-8B-Instruct",
            "Meta-Llama-3.1-8B-Instruct",
            a8,
            "llama3.1",
            f"{HF}/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json (32 layers, hidden 4096, 32 heads, "
            "8 KV heads, "
            "intermediate 14336, vocab 128256, max_position_embeddings 131072, untied output)",
            [
                ("Q3_K_M", [4.02], t8d),
                ("IQ4_XS", [4.45], t8),
                ("Q4_K_S", [4.69], t8b),
                ("Q4_K_M", [4.92], t8b),
                ("Q5_K_M", [5.73], t8b),
                ("Q6_K", [6.6], t8b),
                ("Q8_0", [8.54], t8c),
                ("BF16", [16.1], t8c),
            ],
        )
    )
    a70 = Arch("llama", 80, 131072, 8192, 64, 8, 128, 128256, ff=28672, rope_dim=128)
    r70 = f"{HF}/bartowski/Llama-3.3-70B-Instruct-GGUF/tree"
    out.append(
        bartowski_llama(
            13,
            "llama-3.3-70b-instruct",
            "Llama 3.3 70B Instruct",
            "bartowski/Llama-3.3-70B-Instruct-GGUF",
            "meta-llama/Llama-3.3-70B-Instruct",
            "Llama-3.3-70B-Instruct",
            a70,
            "llama3.3",
            f"{HF}/meta-llama/Llama-3.3-70B-Instruct/blob/main/config.json (80 layers, hidden 8192, 64 heads, 8 KV "
            "heads, intermediate 28672, vocab 128256, max_position_embeddings 131072)",
            [
                ("Q4_0", [40.1], f"{r70}/5b9f3dc3e06eb3d00e92b4c02d8fdeaff73d27c0 (file list)"),
                ("Q4_K_M", [42.5], f"{r70}/d40011344cae8a77726c8dd9e0e26aa1cb4efc7f (file list)"),
                ("Q5_K_M", [40, 9.96], f"{r70}/6a2d1ab95cac8617b2912271f10f01dad8c78b62/Llama-3.3-70B-Instruct-Q5_K_M"),
                ("Q6_K", [40, 17.9], f"{r70}/d40011344cae8a77726c8dd9e0e26aa1cb4efc7f/Llama-3.3-70B-Instruct-Q6_K"),
            ],
            folder_split=True,
        )
    )
    return out


def qwens() -> list[dict]:
    out = []
    qlic = "apache-2.0"

    def dense(order, mid, name, layers, hidden, heads, ff, cfg, extra_q, cross):
        a = Arch("qwen3", layers, 40960, hidden, heads, 8, 128, 151936, ff=ff, qk_norm=True, rope_dim=128)
        repo = f"unsloth/{name.replace(' ', '-')}-GGUF"
        stem = name.replace(" ", "-")
        src = f"{HF}/{repo} (file names follow unsloth's <model>-<QUANT>.gguf pattern); size computed"
        qs = [
            quant(a, q, folder=None, stem=f"{stem}-{q}", source=src, ftype=q)
            for q in ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")
        ]
        qs += extra_q(a, repo, stem, src)
        licence = lic(qlic, None, qlic, f"{HF}/Qwen/{stem} (model card: license apache-2.0)")
        return entry(order, mid, name, repo, f"Qwen/{stem}", licence, a, cfg, qs, notes=cross)

    none = lambda a, repo, stem, src: []  # noqa: E731
    out.append(
        dense(
            20,
            "qwen3-8b",
            "Qwen3 8B",
            36,
            4096,
            32,
            12288,
            f"{HF}/Qwen/Qwen3-8B/blob/main/config.json (36 layers, hidden 4096, 32 heads, 8 KV heads, head_dim "
            "128, intermediate 12288, vocab 151936, max_position_embeddings 40960, untied)",
            none,
            [
                "Cross-check: a third-party llama.cpp conversion lists Qwen3-8B-Q8_0.gguf 8.71 GB, Q6_K 6.73 GB, "
                f"F16 16.4 GB ({HF}/codebasic/Qwen3-8B-GGUF/tree/main)."
            ],
        )
    )
    out.append(
        dense(
            21,
            "qwen3-14b",
            "Qwen3 14B",
            40,
            5120,
            40,
            17408,
            f"{HF}/Qwen/Qwen3-14B/blob/main/config.json (40 layers, hidden 5120, 40 heads, 8 KV heads, head_dim "
            "128, intermediate 17408, vocab 151936, max_position_embeddings 40960, untied)",
            none,
            [
                "Cross-check: LM Studio lists qwen3-14b 'Size on disk about 9.00 GB' for its default 4-bit "
                "(https://lmstudio.ai/model/qwen3-14b)."
            ],
        )
    )

    def bf16_32(a, repo, stem, src):
        return [
            quant(
                a,
                "BF16",
                folder="BF16",
                stem=f"{stem}-BF16",
                source=f"{HF}/{repo} (llama-cpp-python snippet "
                "names BF16/Qwen3-32B-BF16-00001-of-00002.gguf); size computed",
                ftype="BF16",
                n_shards=2,
                shard_basis="2 shards per the file name",
            )
        ]

    out.append(
        dense(
            22,
            "qwen3-32b",
            "Qwen3 32B",
            64,
            5120,
            64,
            25600,
            f"{HF}/Qwen/Qwen3-32B/blob/main/config.json (64 layers, hidden 5120, 64 heads, 8 KV heads, head_dim "
            "128, intermediate 25600, vocab 151936, max_position_embeddings 40960, untied); same values in "
            "https://gitcode.com/Ascend/MindSpeed-RL/blob/master/configs/model/qwen3_32b.yaml",
            bf16_32,
            None,
        )
    )

    a = Arch(
        "qwen3moe",
        48,
        40960,
        2048,
        32,
        4,
        128,
        151936,
        ff=None,
        n_expert=128,
        n_used=8,
        expert_ff=768,
        qk_norm=True,
        rope_dim=128,
    )
    repo = "unsloth/Qwen3-30B-A3B-GGUF"
    src = f"{HF}/{repo}; size computed"
    qs = [
        quant(a, q, folder=None, stem=f"Qwen3-30B-A3B-{q}", source=src, ftype=q) for q in ("Q4_K_M", "Q5_K_M", "Q6_K")
    ]
    qs.append(
        quant(
            a,
            "Q8_0",
            folder=None,
            stem="Qwen3-30B-A3B-Q8_0",
            source=f"{HF}/ggml-org/Qwen3-30B-A3B-Thinking-"
            "2507-Q8_0-GGUF/tree/main (same architecture: qwen3-30b-a3b-thinking-2507-q8_0.gguf 32.5 GB)",
            sizes_gb=[32.5],
            ftype="Q8_0",
        )
    )
    qs.append(
        quant(
            a,
            "BF16",
            folder="BF16",
            stem="Qwen3-30B-A3B-BF16",
            source=f"{HF}/unsloth/Qwen3-30B-A3B-Instruct-"
            "2507-GGUF (names BF16/...-BF16-00001-of-00002.gguf); size computed",
            ftype="BF16",
            n_shards=2,
            shard_basis="2 shards as in unsloth's BF16 folder naming",
        )
    )
    out.append(
        entry(
            23,
            "qwen3-30b-a3b",
            "Qwen3 30B-A3B",
            repo,
            "Qwen/Qwen3-30B-A3B",
            lic(qlic, None, qlic, f"{HF}/Qwen/Qwen3-30B-A3B (model card: license apache-2.0)"),
            a,
            f"{HF}/Qwen/Qwen3-30B-A3B/blob/main/config.json (48 layers, hidden 2048, 32 heads, 4 KV heads, "
            "head_dim 128, 128 experts, 8 per token, moe_intermediate_size 768, vocab 151936, max_position_"
            f"embeddings 40960); {HF}/ggml-org/Qwen3-30B-A3B-GGUF shows 'Model size 31B params, qwen3moe'; "
            "same values in "
            "https://gitcode.com/Ascend/MindSpeed-RL/blob/master/configs/model/qwen3_30b_a3b.yaml",
            qs,
        )
    )

    a = Arch(
        "qwen3moe",
        94,
        40960,
        4096,
        64,
        4,
        128,
        151936,
        ff=None,
        n_expert=128,
        n_used=8,
        expert_ff=1536,
        qk_norm=True,
        rope_dim=128,
    )
    repo = "unsloth/Qwen3-235B-A22B-GGUF"
    src = f"{HF}/{repo}; size computed"
    qs = [
        quant(
            a,
            "Q4_K_M",
            folder="Q4_K_M",
            stem="Qwen3-235B-A22B-Q4_K_M",
            source=src,
            ftype="Q4_K_M",
            n_shards=3,
            shard_basis="3 shards = ceil(size / 50 GB)",
        ),
        quant(
            a,
            "Q8_0",
            folder="Q8_0",
            stem="Qwen3-235B-A22B-Q8_0",
            source=src,
            ftype="Q8_0",
            n_shards=6,
            shard_basis="6 shards = ceil(size / 50 GB)",
        ),
    ]
    out.append(
        entry(
            24,
            "qwen3-235b-a22b",
            "Qwen3 235B-A22B",
            repo,
            "Qwen/Qwen3-235B-A22B",
            lic(qlic, None, qlic, f"{HF}/Qwen/Qwen3-235B-A22B (model card: license apache-2.0)"),
            a,
            f"{HF}/Qwen/Qwen3-235B-A22B/blob/main/config.json (94 layers, hidden 4096, 64 heads, 4 KV heads, "
            "head_dim 128, 128 experts, 8 per token, moe_intermediate_size 1536, vocab 151936, 40960 ctx); the same "
            "values in https://gitcode.com/Ascend/MindSpeed-RL/blob/master/configs/model/qwen3_235b_a22b.yaml",
            qs,
        )
    )
    return out


def gemmas() -> list[dict]:
    out = []
    glic = lic("gemma", None, "gemma", f"{HF}/ggml-org/gemma-3-27b-it-GGUF/tree/main ('License: gemma')")
    for order, mid, name, layers, hidden, heads, kv, hd, ff, qsfn, cfg in (
        (
            30,
            "gemma-3-12b-it",
            "Gemma 3 12B it",
            48,
            3840,
            16,
            8,
            256,
            15360,
            "12",
            f"{HF}/google/gemma-3-12b-it/blob/main/config.json text_config (48 layers, hidden 3840, 16 heads, 8 KV "
            "heads, head_dim 256, intermediate 15360, sliding_window 1024, sliding_window_pattern 6, 131072 ctx); "
            "corroborated by the recipe reproducing lm-kit's Q4_K_M 7.3 GB / Q8_0 12.5 GB",
        ),
        (
            31,
            "gemma-3-27b-it",
            "Gemma 3 27B it",
            62,
            5376,
            32,
            16,
            128,
            21504,
            "27",
            f"{HF}/google/gemma-3-27b-it/blob/main/config.json text_config (62 layers, hidden 5376, 32 heads, 16 KV "
            "heads, head_dim 128, intermediate 21504, sliding_window 1024, sliding_window_pattern 6, 131072 ctx); "
            "corroborated by the recipe reproducing ggml-org's Q4_K_M 16.5 GB / Q8_0 28.7 GB",
        ),
    ):
        swa = [i for i in range(layers) if (i + 1) % 6 != 0]
        a = Arch(
            "gemma3",
            layers,
            131072,
            hidden,
            heads,
            kv,
            hd,
            262144,
            ff=ff,
            tied=True,
            qk_norm=True,
            gemma_norms=True,
            sliding_window=1024,
            swa_layers=swa,
            rope_dim=hd,
        )
        repo = f"ggml-org/gemma-3-{qsfn}b-it-GGUF"
        stem = f"gemma-3-{qsfn}b-it"
        if qsfn == "27":
            tree = f"{HF}/ggml-org/gemma-3-27b-it-GGUF/tree/main (file list)"
            mm = [
                {
                    "path": "mmproj-model-f16.gguf",
                    "size_bytes": gb(0.858),
                    "sha256": None,
                    "source": tree,
                    "basis": "derived: 858 MB x 1e6",
                }
            ]
            qs = [
                quant(
                    a,
                    "Q4_K_M",
                    folder=None,
                    stem=f"{stem}-Q4_K_M",
                    source=tree,
                    sizes_gb=[16.5],
                    ftype="Q4_K_M",
                    companions=mm,
                ),
                quant(
                    a,
                    "Q8_0",
                    folder=None,
                    stem=f"{stem}-Q8_0",
                    source=tree,
                    sizes_gb=[28.7],
                    ftype="Q8_0",
                    companions=mm,
                ),
                quant(
                    a,
                    "F16",
                    folder=None,
                    stem=f"{stem}-f16",
                    source=tree,
                    sizes_gb=[40, 14],
                    ftype="F16",
                    companions=mm,
                ),
            ]
            notes = None
        else:
            src = f"{HF}/{repo} (same layout as the 27B repo); size computed"
            qs = [quant(a, q, folder=None, stem=f"{stem}-{q}", source=src, ftype=q) for q in ("Q4_K_M", "Q8_0")]
            notes = [
                "Cross-check: lm-kit's conversion lists Q4_K_M 7.3 GB, Q6_K 9.66 GB, Q8_0 12.5 GB, F16 23.5 GB "
                f"({HF}/lm-kit/gemma-3-12b-instruct-gguf/tree/main)."
            ]
        extra = {
            "sliding_window_pattern": 6,
            "sliding_window_layers_basis": "derived: sliding_window_pattern 6 = every 6th layer (i % 6 == 5) "
            "is global, the others use the 1024-token window",
            "vocab_basis": "GGUF token count 262144 (config vocab_size 262208 includes image tokens)",
        }
        out.append(
            entry(order, mid, name, repo, f"google/gemma-3-{qsfn}b-it", glic, a, cfg, qs, arch_extra=extra, notes=notes)
        )
    return out


def mistral() -> dict:
    a = Arch("llama", 40, 32768, 5120, 32, 8, 128, 131072, ff=32768, rope_dim=128)
    tree = f"{HF}/bartowski/Mistral-Small-24B-Instruct-2501-GGUF/tree"
    t1 = f"{tree}/c0ff4679bbb7162aee7feb284e8fd363223a9873 (file list)"
    t2 = f"{tree}/b1ac6b321fde62389df753f3be9649d08f05544b (file list)"
    t3 = f"{tree}/8ea80df4772eef7e3002e542fe6295dd223e5bd8 (file list)"
    return bartowski_llama(
        32,
        "mistral-small-24b-instruct-2501",
        "Mistral Small 3 24B Instruct (2501)",
        "bartowski/Mistral-Small-24B-Instruct-2501-GGUF",
        "mistralai/Mistral-Small-24B-Instruct-2501",
        "Mistral-Small-24B-Instruct-2501",
        a,
        "apache-2.0",
        f"{HF}/mistralai/Mistral-Small-24B-Instruct-2501/blob/main/config.json (40 layers, hidden 5120, 32 heads, "
        "8 KV heads, head_dim 128, intermediate 32768, vocab 131072, max_position_embeddings 32768)",
        [
            ("Q3_K_M", [11.5], t1),
            ("IQ4_XS", [12.8], t1),
            ("Q4_K_M", [14.3], t2),
            ("Q5_K_M", [16.8], t3),
            ("Q6_K", [19.3], t3),
            ("Q8_0", [25.1], t3),
            ("F16", [47.2], t3),
        ],
    )


def gptoss() -> list[dict]:
    out = []
    for order, size, layers, n_exp, repo, qs_spec in (
        (
            40,
            "20b",
            24,
            32,
            "unsloth/gpt-oss-20b-GGUF",
            [("F16", [13.8]), ("Q2_K", [11.5]), ("Q4_K_M", [11.6]), ("Q5_K_M", [11.7])],
        ),
        (41, "120b", 36, 128, "unsloth/gpt-oss-120b-GGUF", [("Q4_K_M", [49.6, 13.1])]),
    ):
        swa = [i for i in range(layers) if i % 2 == 0]
        a = Arch(
            "gpt-oss",
            layers,
            131072,
            2880,
            64,
            8,
            64,
            201088,
            ff=None,
            n_expert=n_exp,
            n_used=4,
            expert_ff=2880,
            attn_bias=True,
            attn_sinks=True,
            expert_bias=True,
            sliding_window=128,
            swa_layers=swa,
            rope_dim=64,
        )
        tree = (
            f"{HF}/unsloth/gpt-oss-20b-GGUF/tree/main (file list)"
            if size == "20b"
            else f"{HF}/unsloth/gpt-oss-120b-GGUF/tree/main/Q4_K_M (file list)"
        )
        qs = []
        for q, sizes in qs_spec:
            low = {"F16": "f16", "Q2_K": "q2_K", "Q4_K_M": "q4_K", "Q5_K_M": "q5_K"}[q]
            recipe = {
                "exps_gate_up": "mxfp4",
                "exps_down": "mxfp4",
                "token_embd": low if q != "Q2_K" else "q4_K",
                "output": "f16" if q == "F16" else "q6_K",
                "default": low,
            }
            folder = "Q4_K_M" if len(sizes) > 1 else None
            qs.append(
                quant(
                    a,
                    q,
                    folder=folder,
                    stem=f"gpt-oss-{size}-{q}",
                    source=tree,
                    sizes_gb=sizes,
                    recipe=recipe,
                    recipe_basis="routed experts stay MXFP4 as released by OpenAI in every "
                    "unsloth file (hence F16 is only 13.8 GB); the other tensors take the file type, "
                    "with llama.cpp fallbacks where 2880 is not a multiple of 256",
                )
            )
        if size == "120b":
            recipe = {"exps_gate_up": "mxfp4", "exps_down": "mxfp4", "default": "f16"}
            qs.append(
                quant(
                    a,
                    "F16",
                    folder="F16",
                    stem="gpt-oss-120b-F16",
                    source=f"{HF}/{repo}; size computed",
                    recipe=recipe,
                    n_shards=2,
                    shard_basis="2 shards = ceil(size / 50 GB)",
                    recipe_basis="MXFP4 experts, everything else f16, as in the 20b F16 file",
                )
            )
        cfg = (
            f"{HF}/openai/gpt-oss-{size}/blob/main/config.json, quoted by copies e.g. {HF}/cryptonaut/AltiMind-sft/"
            "blob/main/config.json (20b) and {HF}/GohaDAYN/Affine-A10/blob/main/config.json (120b): "
            f"{layers} layers, hidden 2880, 64 heads, 8 KV heads, head_dim 64, {n_exp} experts, 4 per token, "
            "intermediate 2880, vocab 201088, sliding_window 128 on alternating layers (layer_types starts with "
            "sliding_attention), 131072 ctx"
        )
        licence = lic("apache-2.0", None, "apache-2.0", f"{tree} ('License: apache-2.0'); {HF}/openai/gpt-oss-{size}")
        out.append(
            entry(
                order,
                f"gpt-oss-{size}",
                f"gpt-oss {size}",
                repo,
                f"openai/gpt-oss-{size}",
                licence,
                a,
                cfg.replace("{HF}", HF),
                qs,
            )
        )
    return out


def glm_air() -> dict:
    # GGUF block_count 47 = 46 transformer layers + 1 NextN (MTP) layer that llama.cpp keeps in the file.
    a = Arch(
        "glm4moe",
        47,
        131072,
        4096,
        96,
        8,
        128,
        151552,
        ff=10944,
        n_expert=128,
        n_used=8,
        expert_ff=1408,
        n_shared=1,
        shared_ff=1408,
        leading_dense=1,
        attn_bias=True,
        exp_probs_b=True,
        rope_dim=64,
        extra_layer_params={46: 2 * 4096 * 4096},
    )
    repo = "unsloth/GLM-4.5-Air-GGUF"
    oll = (
        "https://ollama.com/MichelRosselli/GLM-4.5-Air (tags built from 'Unsloth's sharded GGUF release ... "
        "merged into one file': Q3_K_M 57GB, Q4_K_M 73GB, Q5_K_M 83GB, Q6_K 99GB, Q8_0 117GB, BF16 221GB)"
    )
    qs = []
    for q, size, shards in (
        ("Q3_K_M", 57, 2),
        ("Q4_K_M", 73, 2),
        ("Q5_K_M", 83, 2),
        ("Q6_K", 99, 3),
        ("Q8_0", 117, 3),
        ("BF16", 221, 5),
    ):
        qs.append(
            quant(
                a,
                q,
                folder=q,
                stem=f"GLM-4.5-Air-{q}",
                source=oll,
                total_bytes=gb(size),
                total_basis=f"published: {size} GB (whole GB, merged single file of the unsloth quant)",
                n_shards=shards,
                shard_basis=f"{shards} shards = ceil(size / 50 GB), unsloth's folder layout",
                ftype=q,
            )
        )
    cfg = (
        f"{HF}/PrimeIntellect/INTELLECT-3-Base/blob/main/config.json (a GLM-4.5-Air-architecture config: 46 layers, "
        "hidden 4096, 96 heads, 8 KV heads, head_dim 128, intermediate 10944, moe_intermediate 1408, 128 routed "
        "+ 1 shared expert, 8 per token, first_k_dense_replace 1, num_nextn_predict_layers 1, partial_rotary 0.5, "
        f"vocab 151552, 131072 ctx); {HF}/docs/transformers/en/model_doc/glm4_moe (106B total / 12B active)"
    )
    licence = lic(
        "mit",
        None,
        "mit",
        f"{HF}/docs/transformers/en/model_doc/glm4_moe ('released under the MIT "
        "open-source license'); zai-org/GLM-4.5-Air card",
    )
    return entry(
        50,
        "glm-4.5-air",
        "GLM-4.5-Air",
        repo,
        "zai-org/GLM-4.5-Air",
        licence,
        a,
        cfg,
        qs,
        arch_extra={
            "nextn_predict_layers": 1,
            "nextn_basis": "block_count 47 = 46 layers + the NextN/MTP layer llama.cpp stores as "
            "blk.46 (loaded, not used for decoding); total_params therefore ~110B as on the Ollama "
            "page rather than the card's 106B",
        },
    )


def deepseek() -> list[dict]:
    out = []
    mla = {"q_lora": 1536, "kv_lora": 512, "nope": 128, "rope": 64, "v": 128}
    cfg = (
        f"{HF}/deepseek-ai/DeepSeek-R1/blob/main/config.json (61 layers, hidden 7168, 128 heads, q_lora_rank 1536, "
        "kv_lora_rank 512, qk_nope_head_dim 128, qk_rope_head_dim 64, v_head_dim 128, intermediate 18432, "
        "moe_intermediate 2048, 256 routed + 1 shared expert, 8 per token, first_k_dense_replace 3, vocab 129280, "
        "max_position_embeddings 163840; same as DeepSeek-V3)"
    )
    lic_ds = lic("mit", None, "mit", f"{HF}/unsloth/DeepSeek-R1-GGUF/tree/main/DeepSeek-R1-UD-IQ1_S ('License: mit')")

    # 1) The January 2025 unsloth files: converted before llama.cpp's MLA cache (PR #12801), so the header has
    #    no key_length_mla and llama.cpp caches full per-head K (192) and V (128) for all 128 heads.
    a = Arch(
        "deepseek2",
        61,
        163840,
        7168,
        128,
        128,
        192,
        129280,
        ff=18432,
        n_expert=256,
        n_used=8,
        expert_ff=2048,
        n_shared=1,
        shared_ff=2048,
        leading_dense=3,
        exp_probs_b=True,
        mla=mla,
        rope_dim=64,
    )
    t = f"{HF}/unsloth/DeepSeek-R1-GGUF/tree"
    ud_rec = (
        "assumed unsloth dynamic mix (their R1 blog: MoE experts at 1.58-2 bit, attention and dense layers 4-6 bit)"
    )
    qs = [
        quant(
            a,
            "UD-IQ1_S",
            folder="DeepSeek-R1-UD-IQ1_S",
            stem="DeepSeek-R1-UD-IQ1_S",
            source=f"{t}/main/DeepSeek-R1-UD-IQ1_S (file list)",
            sizes_gb=[49.3, 49.4, 41.5],
            recipe={
                "token_embd": "q4_K",
                "output": "q6_K",
                "dense": "q4_K",
                "exps_gate_up": "iq1_s",
                "exps_down": "iq2_xxs",
            },
            recipe_basis=ud_rec,
        ),
        quant(
            a,
            "UD-IQ2_XXS",
            folder="DeepSeek-R1-UD-IQ2_XXS",
            stem="DeepSeek-R1-UD-IQ2_XXS",
            source=f"{t}/90bbbcf503d0e2566d397c2309897432053e5b58/DeepSeek-R1-UD-IQ2_XXS (file list)",
            sizes_gb=[49.1, 49.8, 49.8, 47.5],
            recipe={
                "token_embd": "q4_K",
                "output": "q6_K",
                "dense": "q4_K",
                "exps_gate_up": "iq2_xxs",
                "exps_down": "iq2_xxs",
            },
            recipe_basis=ud_rec,
        ),
        quant(
            a,
            "UD-Q2_K_XL",
            folder="DeepSeek-R1-UD-Q2_K_XL",
            stem="DeepSeek-R1-UD-Q2_K_XL",
            source=f"{t}/main/DeepSeek-R1-UD-Q2_K_XL (file list, folder 227 GB)",
            sizes_gb=[49.8, 50, 50, 50, 26.8],
            recipe={
                "token_embd": "q4_K",
                "output": "q6_K",
                "dense": "q4_K",
                "exps_gate_up": "q2_K",
                "exps_down": "q3_K",
            },
            recipe_basis=ud_rec,
        ),
    ]
    out.append(
        entry(
            60,
            "deepseek-r1",
            "DeepSeek R1 (671B, Jan 2025 GGUF)",
            "unsloth/DeepSeek-R1-GGUF",
            "deepseek-ai/DeepSeek-R1",
            lic_ds,
            a,
            cfg,
            qs,
            arch_extra={
                "kv_lora_rank": 512,
                "q_lora_rank": 1536,
                "value_length": 128,
                "kv_basis": "llama.cpp src/llama-hparams.cpp: is_mla() is true only when key_length_mla and "
                "value_length_mla are both non-zero, else the cache keeps K and V (llama-kv-cache.cpp has_v = "
                "!is_mla); these files predate llama.cpp's MLA KV cache (PR #12801, 2025-04): the "
                "header has no key_length_mla/value_length_mla, so llama.cpp caches K (192) and V "
                "(128) for all 128 heads; re-converted files (deepseek-r1-0528) cache the 576-wide "
                "latent instead",
            },
            notes=["Old-format GGUF: about 5 MB of f16 KV cache per token. Prefer deepseek-r1-0528 for long contexts."],
        )
    )

    # 2) A re-converted file set (May 2025 onwards) with the MLA header: head_count_kv 1, key_length 576
    #    (kv_lora_rank 512 + rope 64), value_length 512, key_length_mla 192, value_length_mla 128.
    b = Arch(
        "deepseek2",
        61,
        163840,
        7168,
        128,
        1,
        576,
        129280,
        ff=18432,
        n_expert=256,
        n_used=8,
        expert_ff=2048,
        n_shared=1,
        shared_ff=2048,
        leading_dense=3,
        exp_probs_b=True,
        mla=mla,
        rope_dim=64,
    )
    repo = "unsloth/DeepSeek-R1-0528-GGUF"
    src = (
        f"{HF}/{repo} (quant folders such as UD-IQ2_XXS, UD-IQ3_XXS listed at {HF}/{repo}/commits/main/UD-IQ2_XXS);"
        " size computed"
    )
    qs = [
        quant(
            b,
            "Q4_K_M",
            folder="Q4_K_M",
            stem="DeepSeek-R1-0528-Q4_K_M",
            source=src,
            ftype="Q4_K_M",
            n_shards=9,
            shard_basis="9 shards = ceil(size / 50 GB)",
        ),
        quant(
            b,
            "Q8_0",
            folder="Q8_0",
            stem="DeepSeek-R1-0528-Q8_0",
            source=src,
            ftype="Q8_0",
            n_shards=15,
            shard_basis="15 shards = ceil(size / 50 GB)",
        ),
    ]
    out.append(
        entry(
            61,
            "deepseek-r1-0528",
            "DeepSeek R1 0528 (671B, MLA GGUF)",
            repo,
            "deepseek-ai/DeepSeek-R1-0528",
            lic("mit", None, "mit", f"{HF}/unsloth/DeepSeek-R1-0528-GGUF/commits/main/UD-IQ2_XXS ('License: mit')"),
            b,
            cfg,
            qs,
            arch_extra={
                "kv_lora_rank": 512,
                "key_length_mla": 192,
                "value_length_mla": 128,
                "q_lora_rank": 1536,
                "value_length": 512,
                "kv_basis": "derived: llama.cpp's converter (since the MLA cache, PR #12801) writes "
                "head_count_kv 1, key_length = kv_lora_rank + qk_rope = 576, value_length = "
                "kv_lora_rank = 512, key_length_mla = 128 + 64 = 192, value_length_mla = 128",
            },
        )
    )
    return out


def build_all() -> list[dict]:
    return [minimax(), *llamas(), *qwens(), *gemmas(), mistral(), *gptoss(), glm_air(), *deepseek()]


def main(out_dir: Path = OUT_DIR, verbose: bool = True) -> None:
    models = build_all()
    for old in out_dir.glob("*.json"):
        old.unlink()
    for m in models:
        write(m, out_dir, verbose)


if __name__ == "__main__":
    main()
