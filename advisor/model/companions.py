"""Optional side files of a GGUF repo (vision projectors, importance matrices): what each is for.

The kinds, their file-name patterns and the words shown to users live in ``resources/download/companions.toml``
with their sources. The Hub listing uses the same patterns to set these files apart from the quants, so a file
is offered as optional exactly when there are words to explain it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

from advisor.model.types import Model, RepoFile, option_named
from advisor.resources import resource_path
from advisor.serialize import SchemaError

SCHEMA = "rigfit.companions/1"


@dataclass(frozen=True)
class CompanionKind:
    id: str
    pattern: re.Pattern[str]
    title: str
    purpose: str
    usage: str
    source: str


@cache
def companion_kinds() -> tuple[CompanionKind, ...]:
    path = resource_path("download", "companions.toml")
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    if data.get("schema") != SCHEMA:
        raise SchemaError(f"{path}: expected schema {SCHEMA!r}")
    kinds = []
    for i, entry in enumerate(data.get("kind", [])):
        try:
            kinds.append(
                CompanionKind(
                    id=entry["id"],
                    pattern=re.compile(entry["pattern"], re.IGNORECASE),
                    title=entry["title"],
                    purpose=" ".join(entry["purpose"].split()),
                    usage=entry["usage"],
                    source=entry["source"],
                )
            )
        except (KeyError, re.error) as exc:
            raise SchemaError(f"{path}: kind[{i}] is incomplete or has a bad pattern: {exc}") from exc
    return tuple(kinds)


def companion_kind(path: str) -> CompanionKind | None:
    """The kind of side file ``path`` is, judged by its file name; None for anything else (a quant, say)."""
    name = PurePosixPath(path).name
    return next((kind for kind in companion_kinds() if kind.pattern.search(name)), None)


def companions_for(model: Model, quant: str) -> tuple[RepoFile, ...]:
    """The optional files offered with ``quant`` of ``model`` (none when the model has no such quant)."""
    option = option_named(model.options, quant)
    return option.companions if option is not None else ()


def usage_text(kind: CompanionKind, local_path: str) -> str:
    """The kind's usage sentence with the file's local path filled in."""
    return kind.usage.replace("{path}", local_path)
