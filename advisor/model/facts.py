"""``ModelFacts`` from GGUF headers, read with llama.cpp's meaning of each key.

Sources for the rules below (see docs/model-sources.md):
- keys and defaults: ``gguf.Keys`` and llama.cpp ``src/llama-model.cpp`` (``n_embd_head_k = n_embd / n_head``
  when ``attention.key_length`` is absent; head counts may be per-layer arrays);
- sliding-window layers: llama.cpp ``llama_hparams::set_swa_pattern(n)`` marks layer ``il`` as SWA when
  ``n == 0 || il % n < n - 1``; each architecture's loader picks ``n`` (gemma2 2, gemma3 6, gemma3n 5, cohere2 4,
  gpt-oss 2, llama4 4 with chunked 8192-token attention, afmoe 4), and newer loaders let
  ``{arch}.attention.sliding_window_pattern`` override it (a number: the period; an array: per-layer flags);
- expert tensors: llama.cpp's ``LLM_FFN_EXPS_REGEX = "\\.ffn_(up|down|gate|gate_up)_(ch|)exps"`` (what
  ``--cpu-moe``/``--n-cpu-moe`` move to the CPU).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from advisor.errors import GGUFFormatError
from advisor.model.gguf_reader import GGUFArray, GGUFHeader
from advisor.model.types import LayerWeights, ModelFacts, TensorInfo, WeightMap

EXPERT_TENSOR_RE = re.compile(r"\.ffn_(up|down|gate|gate_up)_(ch|)exps")
_BLOCK_RE = re.compile(r"^blk\.(\d+)\.")
MAX_LAYERS = 4096  # llama.cpp's LLAMA_MAX_LAYERS is 512; anything near this is a corrupt header


@dataclass(frozen=True)
class SwaRule:
    """How an architecture's llama.cpp loader lays out sliding-window layers."""

    period: int  # set_swa_pattern(period): layer il is SWA when il % period < period - 1
    dense_first: bool = False  # set_swa_pattern(period, dense_first=True): SWA when il % period != 0
    default_window: int | None = None  # used when the GGUF has no sliding_window key
    fixed_window: int | None = None  # llama4's chunk size, not stored in the GGUF


SWA_RULES: dict[str, SwaRule] = {
    "gemma2": SwaRule(period=2, default_window=4096),
    "gemma3": SwaRule(period=6),
    "gemma3n": SwaRule(period=5),
    "cohere2": SwaRule(period=4),
    "gpt-oss": SwaRule(period=2),
    "llama4": SwaRule(period=4, fixed_window=8192),
    "afmoe": SwaRule(period=4),
}

#: Architectures whose later layers reuse the KV cache of earlier ones: only the first N layers own a cache
#: (llama.cpp ``hparams.n_layer_kv_from_start``; gemma3n sets 20).
KV_LAYERS_FROM_START: dict[str, int] = {"gemma3n": 20}


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GGUFFormatError(f"GGUF key {key} should be an integer, not {value!r}.")
    if value < 0:
        raise GGUFFormatError(f"GGUF key {key} is negative ({value}).")
    return value


def _opt_int(md: dict[str, Any], key: str) -> int | None:
    value = md.get(key)
    return None if value is None else _int(value, key)


def _per_layer(md: dict[str, Any], key: str, n_layers: int, default: tuple[int, ...]) -> tuple[int, ...]:
    """A per-layer value stored as one number or as an array with one entry per layer."""
    value = md.get(key)
    if value is None:
        return default
    if isinstance(value, GGUFArray):
        if value.values is None or len(value.values) != n_layers:
            raise GGUFFormatError(f"GGUF key {key} has {value.count} entries for {n_layers} layers.")
        return tuple(_int(v, key) for v in value.values)
    return (_int(value, key),) * n_layers


def _swa(arch: str, md: dict[str, Any], n_layers: int) -> tuple[int | None, tuple[int, ...]]:
    """(window, SWA layer indices) as llama.cpp would set them up for this file."""
    window = _opt_int(md, f"{arch}.attention.sliding_window")
    pattern = md.get(f"{arch}.attention.sliding_window_pattern")
    rule = SWA_RULES.get(arch)
    if rule is not None and rule.fixed_window is not None:  # llama4: the key only switches it off
        if window == 0:
            return None, ()
        window = rule.fixed_window
    if rule is not None and window is None:
        window = rule.default_window
    if not window:
        return None, ()
    if isinstance(pattern, GGUFArray):
        if pattern.values is None or len(pattern.values) != n_layers:
            raise GGUFFormatError(f"{arch}.attention.sliding_window_pattern does not have one entry per layer.")
        return window, tuple(i for i, flag in enumerate(pattern.values) if flag)
    period = rule.period if rule is not None else None
    if pattern is not None:
        period = _int(pattern, f"{arch}.attention.sliding_window_pattern")
    if period is None:
        # A window without a known layout: size every layer as full attention (an over-estimate, never under).
        return window, ()
    dense_first = rule.dense_first if rule is not None else False
    if dense_first:
        layers = tuple(i for i in range(n_layers) if period == 0 or i % period != 0)
    else:
        layers = tuple(i for i in range(n_layers) if period == 0 or i % period < period - 1)
    return window, layers


def _vocab_size(arch: str, md: dict[str, Any], tensors: Sequence[TensorInfo]) -> int:
    explicit = _opt_int(md, f"{arch}.vocab_size")
    if explicit:
        return explicit
    tokens = md.get("tokenizer.ggml.tokens")
    if isinstance(tokens, GGUFArray):
        return tokens.count
    for t in tensors:
        if t.name == "token_embd.weight" and len(t.shape) >= 2:
            return t.shape[1]
    return 0


def is_expert_tensor(name: str) -> bool:
    """A routed-expert weight (``ffn_*_exps``), the part ``--n-cpu-moe`` keeps on the CPU."""
    return EXPERT_TENSOR_RE.search(name) is not None


def count_params(tensors: Sequence[TensorInfo], expert_count: int, expert_used_count: int) -> tuple[int, int]:
    """(total, active per token). Active: dense tensors fully, routed experts x used/count, shared experts
    fully; the input embedding counts only when it doubles as the output matrix (tied), since a token reads
    one row of it."""
    names = {t.name for t in tensors}
    tied = "output.weight" not in names
    total = active = 0
    for t in tensors:
        n = t.n_elements
        total += n
        if is_expert_tensor(t.name) and expert_count > 0:
            active += n * expert_used_count // expert_count
        elif t.name == "token_embd.weight" and not tied:
            continue
        else:
            active += n
    return total, active


def facts_from_headers(headers: Sequence[GGUFHeader]) -> ModelFacts:
    """Facts of one model from its header(s): metadata from shard 1, tensors from every shard."""
    if not headers:
        raise GGUFFormatError("No GGUF header to read facts from.")
    first = min(headers, key=lambda h: h.split_no)
    md = first.metadata
    arch = md.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise GGUFFormatError(f"{first.source_name} has no general.architecture key.")
    tensors = tuple(t for h in sorted(headers, key=lambda h: h.split_no) for t in h.tensors)

    def required(suffix: str) -> int:
        key = f"{arch}.{suffix}"
        if key not in md:
            raise GGUFFormatError(f"{first.source_name} lacks the key {key}, which llama.cpp requires.")
        return _int(md[key], key)

    n_layers = required("block_count")
    if n_layers > MAX_LAYERS:
        raise GGUFFormatError(f"{first.source_name} claims {n_layers} layers.")
    n_embd = required("embedding_length")
    n_ctx = required("context_length")
    head_count = _per_layer(md, f"{arch}.attention.head_count", n_layers, (0,) * n_layers)
    head_count_kv = _per_layer(md, f"{arch}.attention.head_count_kv", n_layers, head_count)
    if arch in KV_LAYERS_FROM_START:  # the rest share earlier layers' caches: no KV of their own
        own = KV_LAYERS_FROM_START[arch]
        head_count_kv = tuple(h if il < own else 0 for il, h in enumerate(head_count_kv))
    first_heads = next((h for h in head_count if h), 0)
    default_head_dim = n_embd // first_heads if first_heads else 0
    key_length = _opt_int(md, f"{arch}.attention.key_length") or default_head_dim
    value_length = _opt_int(md, f"{arch}.attention.value_length") or default_head_dim
    window, swa_layers = _swa(arch, md, n_layers)

    ff = md.get(f"{arch}.feed_forward_length")
    feed_forward = None
    if isinstance(ff, GGUFArray):  # per-layer FFN sizes (e.g. OpenELM): report the largest
        feed_forward = max((_int(v, "feed_forward_length") for v in ff.values or ()), default=None)
    elif ff is not None:
        feed_forward = _int(ff, f"{arch}.feed_forward_length")

    expert_count = _opt_int(md, f"{arch}.expert_count") or 0
    expert_used = _opt_int(md, f"{arch}.expert_used_count") or 0
    if expert_used > expert_count:
        raise GGUFFormatError(f"{first.source_name}: {expert_used} experts used per token but only {expert_count}.")
    total, active = count_params(tensors, expert_count, expert_used)
    license_value = md.get("general.license")
    license_name = md.get("general.license.name")
    name = md.get("general.name")
    size_label = md.get("general.size_label")
    return ModelFacts(
        architecture=arch,
        block_count=n_layers,
        context_length=n_ctx,
        embedding_length=n_embd,
        vocab_size=_vocab_size(arch, md, tensors),
        head_count=head_count,
        head_count_kv=head_count_kv,
        key_length=key_length,
        value_length=value_length,
        feed_forward_length=feed_forward,
        rope_dimension_count=_opt_int(md, f"{arch}.rope.dimension_count"),
        sliding_window=window,
        swa_layers=swa_layers,
        kv_lora_rank=_opt_int(md, f"{arch}.attention.kv_lora_rank"),
        key_length_mla=_opt_int(md, f"{arch}.attention.key_length_mla"),
        value_length_mla=_opt_int(md, f"{arch}.attention.value_length_mla"),
        expert_count=expert_count,
        expert_used_count=expert_used,
        expert_feed_forward_length=_opt_int(md, f"{arch}.expert_feed_forward_length"),
        expert_shared_count=_opt_int(md, f"{arch}.expert_shared_count") or 0,
        leading_dense_block_count=_opt_int(md, f"{arch}.leading_dense_block_count") or 0,
        nextn_predict_layers=_opt_int(md, f"{arch}.nextn_predict_layers") or 0,
        total_params=total,
        active_params=active,
        name=name if isinstance(name, str) else None,
        size_label=size_label if isinstance(size_label, str) else None,
        file_type=_opt_int(md, "general.file_type"),
        license=license_value if isinstance(license_value, str) else None,
        license_name=license_name if isinstance(license_name, str) else None,
        tensors=tensors,
        tensor_types=tuple(sorted({t.type_name for t in tensors})),
        tied_embeddings=bool(tensors) and not any(t.name == "output.weight" for t in tensors),
    )


def expert_tensor_types(facts: ModelFacts) -> tuple[str, ...]:
    """Distinct types of the routed-expert tensors (CUDA defects such as the q4_K ``ffn_down_exps`` NaNs hit
    only these)."""
    return tuple(sorted({t.type_name for t in facts.tensors if is_expert_tensor(t.name)}))


def weight_map_from_tensors(facts: ModelFacts) -> WeightMap:
    """Bytes per block (dense vs routed experts, by the regex llama.cpp's ``--n-cpu-moe`` uses) and outside the
    blocks, from the facts' tensor list. The planner and the model layer share this one function."""
    if not facts.tensors:
        raise ValueError("these facts carry no tensor list (catalog facts): use the option's own WeightMap")
    dense = [0] * facts.block_count
    experts = [0] * facts.block_count
    token_embd = output = other = 0
    for t in facts.tensors:
        m = _BLOCK_RE.match(t.name)
        if m and int(m.group(1)) < facts.block_count:
            i = int(m.group(1))
            if is_expert_tensor(t.name):
                experts[i] += t.n_bytes
            else:
                dense[i] += t.n_bytes
        elif t.name.startswith("token_embd."):
            token_embd += t.n_bytes
        elif t.name.startswith(("output.", "output_norm.")):
            output += t.n_bytes
        else:  # rope factors, and blocks past block_count that llama.cpp never builds into the graph
            other += t.n_bytes
    layers = tuple(LayerWeights(dense_bytes=d, expert_bytes=e) for d, e in zip(dense, experts, strict=True))
    return WeightMap(layers=layers, token_embd_bytes=token_embd, output_bytes=output, other_bytes=other)
