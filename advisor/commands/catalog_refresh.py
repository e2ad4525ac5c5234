"""``rigfit catalog-refresh MODEL`` (also ``rigfit catalog refresh MODEL``): rebuild a catalog entry from the Hub.

Quant repos get re-uploaded (unsloth re-released most MiniMax M2.7 quants), so a bundled entry can go stale.
This reads the repo's file list, card and EVERY option's GGUF header by HTTP ranges (a few MB each, never the
weights) and writes a ``rigfit.catalog/1`` entry with exact sizes, per-class bytes and tensor types into the
user's data folder, where it overrides the bundled entry. The bundled resources are never modified.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from advisor.errors import RigfitError
from advisor.model.facts import is_expert_tensor
from advisor.model.types import Model, ModelFacts, QuantOption

SCHEMA = "rigfit.catalog/1"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog-refresh",
        help="rebuild a catalog entry from the Hub (written to your data folder)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)
    # Also offer it as `rigfit catalog refresh` when the catalog command exposes its actions.
    catalog = subparsers.choices.get("catalog")
    actions = getattr(catalog, "catalog_actions", None)
    if actions is not None and "refresh" not in actions.choices:
        _add_arguments(actions.add_parser("refresh", help="rebuild an entry from the Hub"))


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="catalog id (its repo is refreshed) or Hub repo id")
    parser.add_argument("--id", dest="entry_id", help="catalog id to write (default: from the catalog or the repo)")
    parser.add_argument("--token", help="Hugging Face token (default: HF_TOKEN or your `hf auth login`)")
    parser.add_argument("--output-dir", help="folder to write to (default: your user catalog folder)")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    from advisor.model.resolve import user_catalog_dir

    out_dir = Path(args.output_dir) if args.output_dir else user_catalog_dir()
    path = refresh_entry(
        args.model,
        entry_id=args.entry_id,
        token=args.token,
        out_dir=out_dir,
        progress=lambda m: print(f"... {m}"),
    )
    print(f"Wrote {path}")
    return 0


def _existing_entry(model: str) -> dict[str, Any] | None:
    from advisor.model.catalog import raw_entry

    try:
        return raw_entry(model)
    except RigfitError:
        return None


def default_entry_id(repo_id: str) -> str:
    """``unsloth/Qwen3-8B-GGUF`` -> ``qwen3-8b``."""
    name = repo_id.split("/", 1)[-1]
    name = re.sub(r"[-_.]gguf$", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-")


def refresh_entry(
    model: str,
    *,
    out_dir: Path,
    entry_id: str | None = None,
    token: str | None = None,
    progress=None,
) -> Path:
    """Build the entry from the Hub and write it to ``out_dir/<id>.json``; returns the path."""
    from advisor.model.resolve import resolve_hub

    existing = _existing_entry(model) if "/" not in model else None
    repo_id = existing["repo"] if existing else model
    if "/" not in repo_id:
        raise RigfitError(
            f"{model!r} is neither a catalog id nor a Hub repo id (owner/name).",
            hint="Run `rigfit catalog` for the ids, or pass the repo, e.g. unsloth/Qwen3-8B-GGUF.",
        )
    resolved = resolve_hub(repo_id, token=token, progress=progress, read_all_headers=True)
    entry = build_entry(resolved, entry_id=entry_id or (existing or {}).get("id") or default_entry_id(repo_id))
    if existing:
        entry["order"] = existing.get("order", entry["order"])
        entry["name"] = existing.get("name", entry["name"])
        entry["base_model"] = entry["base_model"] or existing.get("base_model")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{entry['id']}.json"
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(entry, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def _per_layer_value(values: tuple[int, ...]) -> int | list[int]:
    return values[0] if len(set(values)) == 1 else list(values)


def _params_by_class(facts: ModelFacts) -> dict[str, Any]:
    token_embd = output = 0
    dense = [0] * facts.block_count
    expert = [0] * facts.block_count
    for t in facts.tensors:
        m = re.match(r"^blk\.(\d+)\.", t.name)
        if m and int(m.group(1)) < facts.block_count:
            target = expert if is_expert_tensor(t.name) else dense
            target[int(m.group(1))] += t.n_elements
        elif t.name.startswith("token_embd."):
            token_embd += t.n_elements
        elif t.name.startswith(("output.", "output_norm.")):
            output += t.n_elements
    last = facts.block_count - 1
    out: dict[str, Any] = {
        "token_embd": token_embd,
        "output": output,
        "dense_per_layer": dense[last],
        "expert_per_layer": expert[last],
        "dense_total": sum(dense),
        "expert_total": sum(expert),
        "basis": "element counts of the tensors listed in the GGUF header (per-layer values from the last block)",
    }
    if facts.leading_dense_block_count:
        out["leading_dense_per_layer"] = dense[0]
    return out


def _quant_entry(option: QuantOption, facts: ModelFacts, source: str) -> dict[str, Any]:
    if option.weights is None:
        raise RigfitError(f"{option.quant}: its header was not read, so its bytes per class are unknown.")
    w = option.weights
    lead = facts.leading_dense_block_count
    by_class = {
        "token_embd": w.token_embd_bytes,
        "output": w.output_bytes,
        "dense": sum(layer.dense_bytes for layer in w.layers) + w.other_bytes,
        "expert": w.expert_bytes,
    }
    if lead:
        by_class["dense_leading"] = sum(layer.dense_bytes for layer in w.layers[:lead])
    classes = sum(by_class[k] for k in ("token_embd", "output", "dense", "expert"))
    entry: dict[str, Any] = {
        "quant": option.quant,
        "files": [
            {
                "path": f.path,
                "size_bytes": f.size_bytes,
                "sha256": f.sha256,
                "source": f"{source} (file list: LFS size and sha256)",
            }
            for f in option.files
        ],
        "size_bytes": option.size_bytes,
        "size_basis": "exact: sum of the Hub's LFS file sizes",
        "header_bytes": option.size_bytes - classes,
        "bytes_by_class": by_class,
        "tensor_types": list(option.tensor_types),
        "tensor_types_basis": "read from the GGUF header",
        "source": source,
        "basis": "bytes per class summed from the tensor list of every shard's GGUF header (read by HTTP range); "
        "header_bytes = file sizes minus tensor bytes (headers and alignment padding)",
    }
    if option.companions:
        entry["companions"] = [
            {"path": c.path, "size_bytes": c.size_bytes, "source": f"{source} (file list)"} for c in option.companions
        ]
    return entry


def build_entry(model: Model, *, entry_id: str, order: int = 1000) -> dict[str, Any]:
    """A ``rigfit.catalog/1`` dict from a Hub model whose every option carries its header's WeightMap."""
    f = model.facts
    source = f"https://huggingface.co/{model.repo}/tree/{model.revision}"
    lic = model.licence
    licence_source = f"https://huggingface.co/{model.repo} (model card)"
    if lic.base_model:
        licence_source += f"; https://huggingface.co/{lic.base_model} (base model card)"
    return {
        "schema": SCHEMA,
        "id": entry_id,
        "name": f.name or model.name,
        "order": order,
        "repo": model.repo,
        "base_model": lic.base_model,
        "license": {
            "card_license": lic.card_license,
            "card_license_name": lic.card_license_name,
            "card_license_link": lic.card_license_link,
            "base_license": lic.base_license,
            "source": licence_source,
        },
        "architecture": {
            "architecture": f.architecture,
            "block_count": f.block_count,
            "context_length": f.context_length,
            "embedding_length": f.embedding_length,
            "feed_forward_length": f.feed_forward_length or None,
            "head_count": _per_layer_value(f.head_count),
            "head_count_kv": _per_layer_value(f.head_count_kv),
            "key_length": f.key_length,
            "value_length": f.value_length,
            "rope_dimension_count": f.rope_dimension_count or None,
            "sliding_window": f.sliding_window,
            "sliding_window_layers": list(f.swa_layers) if f.sliding_window else None,
            "kv_lora_rank": f.kv_lora_rank,
            "key_length_mla": f.key_length_mla,
            "value_length_mla": f.value_length_mla,
            "expert_count": f.expert_count,
            "expert_used_count": f.expert_used_count,
            "expert_feed_forward_length": f.expert_feed_forward_length,
            "expert_shared_count": f.expert_shared_count,
            "leading_dense_block_count": f.leading_dense_block_count,
            "vocab_size": f.vocab_size,
            "total_params": f.total_params,
            "active_params": f.active_params,
            "source": f"GGUF header of {model.repo} at revision {model.revision}, read by HTTP range",
            "basis": "total and active parameters summed from the header's tensor list "
            "(active: routed experts x used/count, token_embd excluded unless tied)",
        },
        "params_by_class": _params_by_class(f),
        "quants": [_quant_entry(o, f, source) for o in model.options],
    }
