"""``rigfit facts MODEL``: what the planner knows about a model, before anything is downloaded.

MODEL is a catalog id, a Hub repo id or a local .gguf path. The summary shows the architecture, parameters
(total and active per token), experts, context, the KV cache a token costs at f16, and the quant options.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from advisor.model.types import Model
from advisor.plan.memory import kv_bytes_by_layer, kv_bytes_per_token_by_layer
from advisor.serialize import to_dict


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "facts",
        help="show a model's architecture, parameters, KV cache and quantizations",
        description="Read a model's facts from the catalog, a Hub repo (GGUF header by HTTP ranges) or a .gguf.",
    )
    parser.add_argument("model", metavar="MODEL", help="catalog id, Hub repo id (owner/name) or path to a .gguf")
    parser.add_argument("--quant", help="for a Hub repo: read this quantization's header (default: the smallest)")
    parser.add_argument("--token", help="Hugging Face token (default: HF_TOKEN or your `hf auth login`)")
    parser.add_argument("--tensors", action="store_true", help="with --json: include every tensor")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    from advisor.model.resolve import resolve_model

    def progress(message: str) -> None:
        if not args.json:
            print(f"... {message}", file=sys.stderr)

    model = resolve_model(args.model, token=args.token, progress=progress, quant=args.quant)
    if args.json:
        print(json.dumps(facts_json(model, with_tensors=args.tensors), indent=2))
    else:
        print(facts_text(model))
    return 0


def facts_json(model: Model, *, with_tensors: bool = False) -> dict[str, Any]:
    facts = to_dict(model.facts)
    if not with_tensors:
        facts["tensors"] = len(model.facts.tensors)
    return {
        "schema": "rigfit.facts/1",
        "id": model.id,
        "name": model.name,
        "source": model.source,
        "repo": model.repo,
        "revision": model.revision,
        "facts": facts,
        "kv_bytes_per_token_f16": sum(kv_bytes_per_token_by_layer(model.facts)),
        "kv_bytes_full_context_f16": sum(kv_bytes_by_layer(model.facts, model.facts.context_length)),
        "licence": to_dict(model.licence),
        "options": [
            {
                "quant": o.quant,
                "size_bytes": o.size_bytes,
                "files": [to_dict(f) for f in o.files],
                "companions": [f.path for f in o.companions],
                "tensor_types": list(o.tensor_types),
                "weights": to_dict(o.weights) if o.weights is not None else None,
            }
            for o in model.options
        ],
        "notes": list(model.notes),
    }


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _params(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} B"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"


def _heads(values: tuple[int, ...]) -> str:
    distinct = sorted(set(values))
    return str(distinct[0]) if len(distinct) == 1 else f"{min(distinct)}-{max(distinct)} (per layer)"


def facts_text(model: Model) -> str:
    f = model.facts
    kv = sum(kv_bytes_per_token_by_layer(f))  # the planner's formula: one KV rule everywhere
    lines = [
        f"{model.name}  [{model.source}: {model.repo or model.id}]",
        f"  architecture   {f.architecture}, {f.block_count} layers, hidden {f.embedding_length}, "
        f"vocab {f.vocab_size:,}",
        f"  attention      {_heads(f.head_count)} heads, {_heads(f.head_count_kv)} KV heads, "
        f"key/value length {f.key_length}/{f.value_length}"
        + (f", MLA rank {f.kv_lora_rank}" if f.kv_lora_rank else ""),
        f"  parameters     {_params(f.total_params)} total, {_params(f.active_params)} active per token",
    ]
    if f.is_moe:
        lines.append(
            f"  experts        {f.expert_count} routed, {f.expert_used_count} per token"
            + (f", FF {f.expert_feed_forward_length}" if f.expert_feed_forward_length else "")
            + (f", {f.expert_shared_count} shared" if f.expert_shared_count else "")
            + (f", {f.leading_dense_block_count} leading dense blocks" if f.leading_dense_block_count else "")
        )
    lines.append(f"  context        {f.context_length:,} tokens")
    if f.sliding_window:
        lines.append(f"  sliding window {f.sliding_window:,} tokens on {len(f.swa_layers)} of {f.block_count} layers")
    full = sum(kv_bytes_by_layer(f, f.context_length))
    lines.append(f"  KV cache f16   {kv:,} B/token ({kv / 1024:.1f} KiB); {full / 2**30:.2f} GiB at full context")
    lic = model.licence
    parts = []
    if lic.base_license:
        parts.append(f"base model {lic.base_model}: {lic.base_license}")
    card = lic.card_license_name or lic.card_license
    if card:
        parts.append(f"repo card: {card}")
    gguf_label = lic.gguf_license_name or lic.gguf_license
    if gguf_label:
        parts.append(f"GGUF header: {gguf_label}")
    if parts:
        lines.append(f"  licence        {'; '.join(parts)}")
    if f.tensor_types:
        lines.append(f"  tensor types   {', '.join(f.tensor_types)}")
    lines.append("  quantizations")
    width = max((len(o.quant) for o in model.options), default=5)
    for o in model.options:
        files = f"{len(o.files)} file{'s' if len(o.files) != 1 else ''}"
        exact = "  (tensor map from its header)" if o.weights is not None and f.tensors else ""
        lines.append(f"    {o.quant.ljust(width)}  {_gb(o.size_bytes):>10}  {files}{exact}")
    lines += [f"  note: {n}" for n in model.notes]
    return "\n".join(lines)
