"""``rigfit catalog``: list the models known offline; ``rigfit catalog show ID``: their quants and sizes.

The nested sub-command action is kept on the parser as ``catalog_actions`` so another module (the Hub refresh)
can add its own action next to ``show`` without this file knowing about it.
"""

from __future__ import annotations

import argparse
import json

from advisor.model.catalog import CatalogEntry, list_catalog, load_catalog_model, raw_entry
from advisor.model.types import Model


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="list the models Rigfit knows without a network",
        description="List the bundled offline catalog, or show one model's quantizations and file sizes.",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(handler=_list_handler)
    actions = parser.add_subparsers(dest="catalog_action", metavar="ACTION")
    show = actions.add_parser("show", help="one model's quantizations, files and sizes")
    show.add_argument("model_id", metavar="ID", help="catalog id, e.g. minimax-m2.7")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")
    show.set_defaults(handler=_show_handler)
    parser.catalog_actions = actions  # type: ignore[attr-defined]


def format_gb(n_bytes: int) -> str:
    """Decimal gigabytes, as the Hub and model cards print file sizes."""
    gb = n_bytes / 1e9
    if gb >= 100:
        return f"{gb:.0f} GB"
    if gb >= 1:
        return f"{gb:.1f} GB"
    return f"{n_bytes / 1e6:.0f} MB"


def format_params(n: int) -> str:
    b = n / 1e9
    return f"{b:.0f}B" if b >= 100 else f"{b:.1f}B" if b >= 10 else f"{b:.2f}B"


def _params_text(e: CatalogEntry) -> str:
    text = format_params(e.total_params)
    return f"{text} ({format_params(e.active_params)} active)" if e.is_moe else text


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _list_handler(args: argparse.Namespace) -> int:
    entries = list_catalog()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "name": e.name,
                        "repo": e.repo,
                        "architecture": e.architecture,
                        "total_params": e.total_params,
                        "active_params": e.active_params,
                        "quant_count": e.quant_count,
                        "min_size_bytes": e.min_size_bytes,
                        "max_size_bytes": e.max_size_bytes,
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return 0
    rows = [
        [
            e.id,
            e.name,
            _params_text(e),
            str(e.quant_count),
            f"{format_gb(e.min_size_bytes)} - {format_gb(e.max_size_bytes)}",
        ]
        for e in entries
    ]
    print(_table(["ID", "NAME", "PARAMS", "QUANTS", "SIZE"], rows))
    print(f"\n{len(entries)} models. Details: rigfit catalog show ID")
    return 0


def _show_handler(args: argparse.Namespace) -> int:
    model = load_catalog_model(args.model_id)
    if getattr(args, "json", False):
        print(json.dumps(raw_entry(model.id), indent=1, ensure_ascii=False))
        return 0
    expected = {q["quant"] for q in raw_entry(model.id)["quants"] if q["tensor_types_basis"].startswith("derived")}
    print(_describe(model, expected))
    return 0


def _describe(model: Model, expected_types: set[str]) -> str:
    f = model.facts
    lines = [f"{model.name}  ({model.id})", f"Repo: {model.repo}"]
    if model.licence.base_model:
        lines.append(f"Base model: {model.licence.base_model}")
    lic = model.licence
    card = " / ".join(x for x in (lic.card_license, lic.card_license_name) if x)
    lines.append(f"Licence: card says {card or 'nothing'}; base model licence {lic.base_license or 'unknown'}")
    kind = (
        f"MoE, {f.expert_count} experts ({f.expert_used_count} per token)"
        + (f", {f.expert_shared_count} shared" if f.expert_shared_count else "")
        if f.is_moe
        else "dense"
    )
    lines.append(
        f"Architecture: {f.architecture}, {f.block_count} layers, hidden {f.embedding_length}, {kind}, "
        f"context {f.context_length:,}"
    )
    params = format_params(f.total_params)
    if f.is_moe:
        params += f", {format_params(f.active_params)} active per token"
    lines.append(f"Parameters: {params}")
    lines += [f"Note: {n}" for n in model.notes]
    rows = []
    for opt in model.options:
        w = opt.weights
        expert = format_gb(w.expert_bytes) if w is not None and f.is_moe else "-"
        rows.append(
            [
                opt.quant,
                format_gb(opt.size_bytes),
                str(len(opt.files)),
                expert,
                (", ".join(opt.tensor_types) or "unknown") + (" *" if opt.quant in expected_types else ""),
            ]
        )
    lines += ["", _table(["QUANT", "SIZE", "FILES", "EXPERTS", "TENSOR TYPES"], rows)]
    if expected_types:
        lines.append("* tensor types expected from llama.cpp's quantization rules, not read from the file")
    return "\n".join(lines)
