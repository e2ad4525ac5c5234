"""The command that fetches a quant's files without Rigfit, for a user who downloads them another way."""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

from advisor.model.types import RepoFile
from advisor.resources import resource_path
from advisor.serialize import SchemaError

SCHEMA = "rigfit.manual-download/1"


@dataclass(frozen=True)
class ManualDownload:
    command: str  # the shell command, ready to paste
    install: str  # how to get the tool when it is missing
    source: str


@cache
def _template() -> dict[str, str]:
    path = resource_path("download", "manual.toml")
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    if data.get("schema") != SCHEMA or "hf_cli" not in data:
        raise SchemaError(f"{path}: expected schema {SCHEMA!r} with an [hf_cli] table")
    return data["hf_cli"]


def manual_download(repo_id: str, files: Sequence[RepoFile], folder: str) -> ManualDownload:
    """``hf download`` for exactly these files into ``folder`` (keeping the repo's sub-folders, as Rigfit does)."""
    t = _template()
    parents = {str(PurePosixPath(f.path).parent) for f in files}
    values = {"repo": shlex.quote(repo_id), "folder": shlex.quote(folder)}
    if len(parents) == 1 and parents != {"."} and len(files) > 1:
        command = t["with_pattern"].format(pattern=f"{parents.pop()}/*", **values)
    else:
        command = t["with_files"].format(files=" ".join(shlex.quote(f.path) for f in files), **values)
    return ManualDownload(command=command, install=t["install"], source=t["source"])
