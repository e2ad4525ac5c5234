"""One way to name a model: a catalog id, a Hub repo id, or a local ``.gguf`` path, all giving a ``Model``.

Order of interpretation: an existing file (or anything ending in ``.gguf``) is a local file; otherwise a
catalog id (a user-refreshed entry in the data dir wins over the bundled one); otherwise ``owner/name`` is a
Hub repo (``owner/name:QUANT`` also picks the quant whose header is read, as llama.cpp's ``-hf`` does).
Anything else is a ``ModelNotFoundError`` that says which forms are accepted.

For a Hub repo, the header of ONE representative option (the smallest, or the ``quant`` asked for) is read by
HTTP ranges, every shard of it: that gives the model's facts and that option's exact ``WeightMap``. The other
options keep ``weights=None``: their file sizes are exact (from the Hub listing) and the planner scales the
facts' per-class split to them. ``read_all_headers=True`` reads every option's header instead (a few MB per
option; ``rigfit catalog-refresh`` does this to record exact per-class bytes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from advisor.errors import ModelNotFoundError
from advisor.model.facts import expert_tensor_types, facts_from_headers, weight_map_from_tensors
from advisor.model.gguf_reader import (
    GGUFHeader,
    LocalFileSource,
    parse_shard_name,
    read_split_headers,
    shard_filename,
)
from advisor.model.hub_repo import fetch_licence, group_quant_options, pick_representative, quant_tag
from advisor.model.types import LicenceInfo, Model, ModelFacts, QuantOption, RepoFile

Progress = Callable[[str], None]
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


def user_catalog_dir() -> Path:
    """Where ``rigfit catalog-refresh`` writes entries; they override the bundled catalog's."""
    from platformdirs import user_data_dir

    override = os.environ.get("RIGFIT_USER_CATALOG")
    return Path(override) if override else Path(user_data_dir("rigfit")) / "catalog"


def resolve_model(
    name: str,
    *,
    token: str | None = None,
    progress: Progress | None = None,
    quant: str | None = None,
    read_all_headers: bool = False,
) -> Model:
    """The ``Model`` for a catalog id, a Hub repo id or a local .gguf path (see the module docstring)."""
    say = progress or (lambda _msg: None)
    text = name.strip()
    if not text:
        raise ModelNotFoundError("No model given.", hint=_FORMS)
    path = Path(text).expanduser()
    if path.is_file() or text.lower().endswith(".gguf"):
        return resolve_local(path, progress=say)
    model = _catalog_model(text)
    if model is not None:
        return model
    repo_id, _, tag = text.partition(":")  # "owner/name:Q4_K_M", as llama.cpp's -hf takes it
    if _REPO_ID.match(repo_id):
        return resolve_hub(
            repo_id, token=token, progress=say, quant=quant or tag or None, read_all_headers=read_all_headers
        )
    raise ModelNotFoundError(f"{name!r} is not a catalog id, a Hub repo (owner/name) or a .gguf file.", hint=_FORMS)


_FORMS = (
    "Name a model as a catalog id (see `rigfit catalog`, e.g. minimax-m2.7), a Hub repo id "
    "(e.g. unsloth/MiniMax-M2.7-GGUF), or a path to a .gguf file."
)


def _catalog_model(model_id: str) -> Model | None:
    from advisor.model.catalog import load_catalog_model

    user_file = user_catalog_dir() / f"{model_id.lower()}.json"
    try:
        if user_file.is_file():
            return load_catalog_model(model_id, directory=user_catalog_dir())
        return load_catalog_model(model_id)
    except ModelNotFoundError:
        return None


# -- local files ------------------------------------------------------------------------------------------


def local_shard_paths(path: Path) -> list[Path]:
    """All shards of a split model given any one of them (or just ``[path]`` for a whole file)."""
    shard = parse_shard_name(path.name)
    if shard is None:
        return [path]
    paths = [path.parent / shard_filename(shard.prefix, i, shard.total) for i in range(1, shard.total + 1)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelNotFoundError(
            f"{path.name} is shard {shard.number} of {shard.total}, but {len(missing)} shard(s) are not beside it: "
            f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}.",
            hint="Put every -0000N-of-0000M.gguf file of the model in the same folder.",
        )
    return paths


def resolve_local(path: Path, *, progress: Progress | None = None) -> Model:
    """A model from a local .gguf (whole, any shard of a split model, or a copy cut after its header)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"There is no file {path}.", hint=_FORMS)
    paths = local_shard_paths(path)
    headers = read_split_headers([LocalFileSource(p) for p in paths], progress=progress)
    facts = facts_from_headers(headers)
    notes: list[str] = []
    files = []
    for p, h in zip(paths, headers, strict=True):
        size = h.expected_file_size
        source = f"local file {p}"
        if h.is_truncated:
            source += " (cut after its header; size computed from the header's tensor list)"
        files.append(RepoFile(path=str(p), size_bytes=size, source=source))
    if any(h.is_truncated for h in headers):
        notes.append("The file holds only its header: sizes are computed from the tensor list it declares.")
    tag = quant_tag(paths[0].name) or _file_type_tag(facts) or "GGUF"
    option = QuantOption(
        quant=tag,
        files=tuple(files),
        size_bytes=sum(f.size_bytes for f in files),
        weights=weight_map_from_tensors(facts),
        tensor_types=facts.tensor_types,
        expert_tensor_types=expert_tensor_types(facts),
        source=f"GGUF header of {paths[0]}",
    )
    return Model(
        id=str(path),
        name=facts.name or paths[0].name,
        source="local",
        facts=facts,
        options=(option,),
        licence=_gguf_licence(LicenceInfo(source=f"GGUF header of {paths[0].name}"), facts),
        notes=tuple(notes),
    )


def _file_type_tag(facts: ModelFacts) -> str | None:
    if facts.file_type is None:
        return None
    from gguf import LlamaFileType

    try:
        return LlamaFileType(facts.file_type).name.removeprefix("MOSTLY_")
    except ValueError:
        return None


def _gguf_licence(licence: LicenceInfo, facts: ModelFacts) -> LicenceInfo:
    return replace(licence, gguf_license=facts.license, gguf_license_name=facts.license_name)


# -- Hub repos --------------------------------------------------------------------------------------------


def read_option_headers(
    repo_id: str, option: QuantOption, revision: str, *, token: str | None, progress: Progress | None
) -> list[GGUFHeader]:
    """Every shard header of one option, by HTTP ranges (never whole shards)."""
    from advisor.model import hub

    sources = [hub.range_reader(repo_id, f.path, revision, explicit_token=token) for f in option.files]
    return read_split_headers(sources, progress=progress)  # type: ignore[arg-type]


def resolve_hub(
    repo_id: str,
    *,
    revision: str = "main",
    token: str | None = None,
    progress: Progress | None = None,
    quant: str | None = None,
    read_all_headers: bool = False,
) -> Model:
    """A model from a Hub repo: file list -> options; card (+ base model card) -> licence; a header -> facts."""
    from advisor.model import hub

    say = progress or (lambda _msg: None)
    say(f"Reading the card of {repo_id}")
    card = hub.model_card(repo_id, revision=None if revision == "main" else revision, explicit_token=token)
    pinned = card.get("_sha") or revision
    say(f"Listing the files of {repo_id}")
    files = hub.list_files(repo_id, pinned, explicit_token=token)
    grouping = group_quant_options(files, source=f"{hub.endpoint()}/{repo_id} (file list)")
    if not grouping.options:
        raise ModelNotFoundError(
            f"{repo_id} has no complete GGUF model files.",
            hint=" ".join(grouping.notes) or "Pick a repo with .gguf files (names often end in -GGUF).",
        )
    options = list(grouping.options)
    if quant is not None:
        chosen = next((o for o in options if o.quant.lower() == quant.lower()), None)
        if chosen is None:
            raise ModelNotFoundError(
                f"{repo_id} has no quantization {quant!r}.", hint=f"Available: {', '.join(o.quant for o in options)}."
            )
    else:
        chosen = pick_representative(options)
    facts: ModelFacts | None = None
    for i, option in enumerate(options):
        if option is not chosen and not read_all_headers:
            continue
        say(f"Reading the GGUF header of {option.quant}")
        option_facts = facts_from_headers(read_option_headers(repo_id, option, pinned, token=token, progress=say))
        options[i] = replace(
            option,
            weights=weight_map_from_tensors(option_facts),
            tensor_types=option_facts.tensor_types,
            expert_tensor_types=expert_tensor_types(option_facts),
        )
        if option is chosen:
            facts = option_facts
    assert facts is not None
    say("Reading the licence")
    licence, licence_notes = fetch_licence(repo_id, card, token=token)
    return Model(
        id=repo_id,
        name=facts.name or repo_id.split("/", 1)[1],
        source="hub",
        facts=facts,
        options=tuple(options),
        licence=_gguf_licence(licence, facts),
        repo=repo_id,
        revision=pinned,
        notes=(*grouping.notes, *licence_notes, f"Facts read from the {chosen.quant} header."),
    )
