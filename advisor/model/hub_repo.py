"""A Hub repo's GGUF files grouped into quantization options, and its licence labels.

Quant repos lay files out in a few ways, all handled here:
- one file per quant at the top level (bartowski: ``Model-Q4_K_M.gguf``, ``Model-IQ1_M.gguf``),
- one folder per quant with split shards (unsloth: ``UD-Q4_K_XL/Model-UD-Q4_K_XL-00001-of-00004.gguf``),
- split shards at the top level (``Model-BF16-00001-of-00010.gguf``),
- companion files that are not a quant of the model (``mmproj-*.gguf`` vision projectors).
The quant tag comes from the file name, else from the folder name. Shards are grouped by folder and name
prefix; a group with a shard missing is left out and reported in the notes rather than offered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from advisor.model.gguf_reader import parse_shard_name
from advisor.model.types import LicenceInfo, QuantOption, RepoFile

# Tags as llama.cpp's quantize tool and the big uploaders name them: Q4_K_M, Q8_0, IQ2_XXS, UD-Q4_K_XL,
# TQ1_0, BF16, F16, MXFP4_MOE, Q4_0_4_4 ... matched at the end of a name after a separator.
_QUANT_TAG = re.compile(
    r"(?:^|[-_.])(?P<tag>(?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|TQ\d_\d|BF16|F16|FP16|F32|FP32|MXFP4(?:_MOE)?|NVFP4))$",
    re.IGNORECASE,
)


def quant_tag(path: str) -> str | None:
    """The quant tag of a GGUF path: from the file name, else its folder; None when neither names one."""
    p = PurePosixPath(path)
    name = p.name
    shard = parse_shard_name(name)
    stem = shard.prefix if shard else re.sub(r"\.gguf$", "", name, flags=re.IGNORECASE)
    for candidate in (stem, p.parent.name):
        m = _QUANT_TAG.search(candidate) if candidate else None
        if m:
            return _normalise(m.group("tag"))
    return None


def _normalise(tag: str) -> str:
    tag = tag.upper()
    return {"FP16": "F16", "FP32": "F32"}.get(tag, tag)


def is_companion(path: str) -> bool:
    """Optional side files (vision projectors, importance matrices): the kinds in ``resources/download``."""
    from advisor.model.companions import companion_kind

    return companion_kind(path) is not None


@dataclass(frozen=True)
class Grouping:
    options: tuple[QuantOption, ...]
    companions: tuple[RepoFile, ...]
    notes: tuple[str, ...]


def group_quant_options(files: Iterable[RepoFile], *, source: str | None = None) -> Grouping:
    """Group a repo's files into quant options (first shard first), biggest-last; companions noted."""
    ggufs = [f for f in files if f.path.lower().endswith(".gguf")]
    companions = tuple(sorted((f for f in ggufs if is_companion(f.path)), key=lambda f: f.path))
    groups: dict[tuple[str, str], list[tuple[int, int, RepoFile]]] = {}
    for f in ggufs:
        if is_companion(f.path):
            continue
        p = PurePosixPath(f.path)
        shard = parse_shard_name(p.name)
        if shard:
            key = (str(p.parent), shard.prefix)
            groups.setdefault(key, []).append((shard.number, shard.total, f))
        else:
            key = (str(p.parent), p.name)
            groups.setdefault(key, []).append((1, 1, f))

    notes: list[str] = []
    built: list[tuple[str, str, tuple[RepoFile, ...]]] = []  # (tag, folder, files)
    for (folder, prefix), members in sorted(groups.items()):
        members.sort(key=lambda m: m[0])
        totals = {m[1] for m in members}
        numbers = [m[0] for m in members]
        tag = quant_tag(members[0][2].path) or prefix.removesuffix(".gguf")
        if len(totals) != 1 or numbers != list(range(1, max(totals) + 1)):
            total = max(totals)
            missing = sorted(set(range(1, total + 1)) - set(numbers))
            notes.append(
                f"{tag} in {folder if folder != '.' else 'the top folder'} is incomplete "
                f"(shard(s) {', '.join(map(str, missing)) or '?'} of {total} missing), so it is not offered."
            )
            continue
        built.append((tag, folder, tuple(m[2] for m in members)))

    tag_counts: dict[str, int] = {}
    for tag, _folder, _files in built:
        tag_counts[tag.lower()] = tag_counts.get(tag.lower(), 0) + 1
    options = []
    for tag, folder, shard_files in built:
        name = tag
        if tag_counts[tag.lower()] > 1:  # the same quant twice (old top-level copy and a folder): say where
            name = f"{tag} ({folder if folder != '.' else 'top folder'})"
        options.append(
            QuantOption(
                quant=name,
                files=shard_files,
                size_bytes=sum(f.size_bytes for f in shard_files),
                companions=companions,
                source=source,
            )
        )
    options.sort(key=lambda o: (o.size_bytes, o.quant))
    if companions:
        notes.append("Optional companion files: " + ", ".join(f.path for f in companions) + ".")
    return Grouping(options=tuple(options), companions=companions, notes=tuple(notes))


def _card_str(card: dict[str, Any], key: str) -> str | None:
    value = card.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def base_model_of(card: dict[str, Any]) -> str | None:
    """The card's ``base_model`` (a string or a list; the first entry for merges), else the Hub's
    ``base_model:quantized:<repo>`` / ``base_model:<repo>`` tag."""
    named = _card_str(card, "base_model")
    if named:
        return named
    tags = [t for t in card.get("_tags") or [] if isinstance(t, str) and t.startswith("base_model:")]
    for prefer_quantized in (True, False):
        for tag in tags:
            parts = tag.split(":")
            if prefer_quantized and len(parts) == 3 and parts[1] == "quantized":
                return parts[2]
            if not prefer_quantized and len(parts) == 2:
                return parts[1]
    return None


def licence_from_cards(
    repo_id: str, card: dict[str, Any], base_card: dict[str, Any] | None, base_model: str | None
) -> LicenceInfo:
    """Every licence label the repo card and its base model's card carry."""
    base_license = None
    if base_card:
        base_license = _card_str(base_card, "license_name") or _card_str(base_card, "license")
        if base_license == "other" and _card_str(base_card, "license_link"):
            base_license = f"other ({_card_str(base_card, 'license_link')})"
    sources = [f"{repo_id} card"]
    if base_model:
        sources.append(f"{base_model} card" if base_card is not None else f"{base_model} card (not readable)")
    return LicenceInfo(
        card_license=_card_str(card, "license"),
        card_license_name=_card_str(card, "license_name"),
        card_license_link=_card_str(card, "license_link"),
        base_model=base_model,
        base_license=base_license,
        source="; ".join(sources),
    )


def fetch_licence(repo_id: str, card: dict[str, Any], *, token: str | None = None) -> tuple[LicenceInfo, list[str]]:
    """The licence, following ``base_model`` to its card. A base card that cannot be read becomes a note."""
    from advisor.errors import HubError
    from advisor.model import hub

    base = base_model_of(card)
    notes: list[str] = []
    base_card = None
    if base and base != repo_id:
        try:
            base_card = hub.model_card(base, explicit_token=token)
        except HubError as exc:
            notes.append(f"The base model {base}'s licence could not be read: {exc.message}")
    return licence_from_cards(repo_id, card, base_card, base), notes


def pick_representative(options: Sequence[QuantOption]) -> QuantOption:
    """The option whose header is read for the facts: the smallest one (the header of each is the same size,
    and the smallest is the most likely to be run, so its exact weight map is the most useful)."""
    return min(options, key=lambda o: (o.size_bytes, o.quant))
