"""The bundled offline catalog: models the app can plan with no network.

Each ``resources/catalog/<id>.json`` (schema ``rigfit.catalog/1``, described in that folder's README) becomes
the same ``Model`` a GGUF header would give, including a per-layer ``WeightMap`` for every quant, so a catalog
model is planned exactly like a downloaded one. Files are validated on load; a bad file is reported by name
and field instead of surfacing later as a wrong plan.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gguf import GGMLQuantizationType

from advisor.errors import ModelNotFoundError, RigfitError
from advisor.model.types import LayerWeights, LicenceInfo, Model, ModelFacts, QuantOption, RepoFile, WeightMap
from advisor.resources import resource_path

SCHEMA = "rigfit.catalog/1"
MAX_HEADER_BYTES = 64 * 2**20  # the biggest vocabularies give headers of a few MB; more means a typo
_TYPE_NAMES = frozenset(t.name.lower() for t in GGMLQuantizationType)
_CLASSES = ("token_embd", "output", "dense", "expert")


class CatalogError(RigfitError):
    """A bundled catalog file is malformed; the message names the file and the field."""


class UnknownCatalogModelError(ModelNotFoundError):
    """No catalog entry has that id; the hint lists the closest ids."""


@dataclass(frozen=True)
class CatalogEntry:
    """One line of ``rigfit catalog``: enough to choose a model without loading its quants."""

    id: str
    name: str
    order: int
    repo: str
    architecture: str
    total_params: int
    active_params: int
    is_moe: bool
    quant_count: int
    min_size_bytes: int
    max_size_bytes: int
    path: Path


def catalog_dir() -> Path:
    return resource_path("catalog")


def list_catalog(directory: Path | None = None) -> list[CatalogEntry]:
    """Every catalog model, validated, sorted by ``order`` then id."""
    entries = [_entry(path, _load_valid(path)) for path in _files(directory)]
    return sorted(entries, key=lambda e: (e.order, e.id))


def catalog_ids(directory: Path | None = None) -> list[str]:
    return [e.id for e in list_catalog(directory)]


def load_catalog_model(model_id: str, directory: Path | None = None) -> Model:
    """The ``Model`` for catalog id ``model_id`` (case-insensitive)."""
    wanted = model_id.strip().lower()
    paths = {p.stem.lower(): p for p in _files(directory)}
    path = paths.get(wanted)
    if path is None:
        close = difflib.get_close_matches(wanted, list(paths), n=3, cutoff=0.5)
        close += [k for k in sorted(paths) if wanted and wanted in k and k not in close]
        hint = (
            f"Did you mean: {', '.join(close[:3])}? " if close else ""
        ) + "Run `rigfit catalog` for the full list, or name a Hub repo or a local .gguf file."
        raise UnknownCatalogModelError(f"{model_id!r} is not in the offline catalog.", hint=hint)
    return _build_model(_load_valid(path))


# --------------------------------------------------------------------------------------------------------------
# Reading and validation


def _files(directory: Path | None) -> list[Path]:
    folder = directory if directory is not None else catalog_dir()
    if not folder.is_dir():
        raise CatalogError(
            f"The offline catalog folder {folder} is missing.", hint="Reinstall Rigfit or set RIGFIT_RESOURCES."
        )
    return sorted(folder.glob("*.json"))


def _load_valid(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@cache
def _load_cached(path: Path, _mtime: int, _size: int) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"Catalog file {path.name} cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"Catalog file {path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
        ) from exc
    _Validator(path.name).model(data, path.stem)
    return data


class _Validator:
    """Checks one file against ``rigfit.catalog/1``; every failure names file and field path."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, where: str, problem: str) -> CatalogError:
        return CatalogError(f"Catalog file {self.filename}: field {where} {problem}.")

    def get(self, obj: dict, key: str, where: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in obj or obj[key] is None:
            if optional:
                return None
            raise self.fail(f"{where}.{key}", "is missing")
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(f"{where}.{key}", f"must be {names}, not {type(value).__name__}")
        return value

    def count(self, obj: dict, key: str, where: str, *, optional: bool = False, minimum: int = 0) -> int | None:
        value = self.get(obj, key, where, int, optional=optional)
        if value is not None and value < minimum:
            raise self.fail(f"{where}.{key}", f"must be at least {minimum}, not {value}")
        return value

    def text(self, obj: dict, key: str, where: str, *, optional: bool = False) -> str | None:
        value = self.get(obj, key, where, str, optional=optional)
        if value is not None and not value.strip():
            raise self.fail(f"{where}.{key}", "must not be empty")
        return value

    def model(self, data: Any, stem: str) -> None:
        if not isinstance(data, dict):
            raise self.fail("$", "must be a JSON object")
        if data.get("schema") != SCHEMA:
            raise self.fail("$.schema", f"must be {SCHEMA!r}, not {data.get('schema')!r}")
        model_id = self.text(data, "id", "$")
        if model_id != stem:
            raise self.fail("$.id", f"is {model_id!r} but the file is named {stem}.json")
        self.text(data, "name", "$")
        self.count(data, "order", "$")
        self.text(data, "repo", "$")
        self.text(data, "base_model", "$", optional=True)
        lic = self.get(data, "license", "$", dict)
        for key in ("card_license", "card_license_name", "base_license", "card_license_link"):
            self.text(lic, key, "$.license", optional=True)
        self.text(lic, "source", "$.license")
        arch = self.get(data, "architecture", "$", dict)
        self.architecture(arch)
        pbc = self.get(data, "params_by_class", "$", dict)
        for key in ("token_embd", "output", "dense_per_layer", "expert_per_layer"):
            self.count(pbc, key, "$.params_by_class")
        self.text(pbc, "basis", "$.params_by_class")
        quants = self.get(data, "quants", "$", list)
        if not quants:
            raise self.fail("$.quants", "must list at least one quantization")
        seen: set[str] = set()
        for i, q in enumerate(quants):
            where = f"$.quants[{i}]"
            if not isinstance(q, dict):
                raise self.fail(where, "must be an object")
            name = self.text(q, "quant", where)
            if name.lower() in seen:
                raise self.fail(f"{where}.quant", f"repeats {name!r}")
            seen.add(name.lower())
            self.quant(q, where, arch)

    def architecture(self, arch: dict) -> None:
        w = "$.architecture"
        self.text(arch, "architecture", w)
        n_layer = self.count(arch, "block_count", w, minimum=1)
        for key in ("context_length", "embedding_length", "vocab_size", "key_length", "value_length"):
            self.count(arch, key, w, minimum=1)
        tied = arch.get("tie_word_embeddings")
        if tied is not None and not isinstance(tied, bool):
            raise self.fail(f"{w}.tie_word_embeddings", "must be true or false")
        for key in ("head_count", "head_count_kv"):
            value = self.get(arch, key, w, (int, list))
            if isinstance(value, list) and (
                len(value) != n_layer or not all(isinstance(v, int) and v >= 0 for v in value)
            ):
                raise self.fail(f"{w}.{key}", f"must be one non-negative integer per layer ({n_layer})")
            if isinstance(value, int) and value < (1 if key == "head_count" else 0):
                raise self.fail(f"{w}.{key}", f"must be positive, not {value}")
        for key in (
            "feed_forward_length",
            "sliding_window",
            "kv_lora_rank",
            "key_length_mla",
            "value_length_mla",
            "expert_feed_forward_length",
            "rope_dimension_count",
        ):
            self.count(arch, key, w, optional=True, minimum=1)
        experts = self.count(arch, "expert_count", w)
        used = self.count(arch, "expert_used_count", w)
        if experts and not 0 < used <= experts:
            raise self.fail(f"{w}.expert_used_count", f"must be between 1 and expert_count ({experts})")
        self.count(arch, "expert_shared_count", w, optional=True)
        lead = self.count(arch, "leading_dense_block_count", w, optional=True) or 0
        if lead >= n_layer:
            raise self.fail(f"{w}.leading_dense_block_count", f"must be below block_count ({n_layer})")
        nextn = self.count(arch, "nextn_predict_layers", w, optional=True) or 0
        if nextn >= n_layer:
            raise self.fail(f"{w}.nextn_predict_layers", f"must be below block_count ({n_layer})")
        swa = self.get(arch, "sliding_window_layers", w, list, optional=True)
        if swa is not None:
            if arch.get("sliding_window") is None:
                raise self.fail(f"{w}.sliding_window", "is missing although sliding_window_layers is set")
            if not all(isinstance(i, int) and 0 <= i < n_layer for i in swa) or len(set(swa)) != len(swa):
                raise self.fail(f"{w}.sliding_window_layers", f"must be distinct layer indices below {n_layer}")
        total = self.count(arch, "total_params", w, minimum=1)
        active = self.count(arch, "active_params", w, minimum=1)
        if active > total:
            raise self.fail(f"{w}.active_params", "is larger than total_params")
        self.text(arch, "source", w)

    def quant(self, q: dict, where: str, arch: dict) -> None:
        files = self.get(q, "files", where, list)
        if not files:
            raise self.fail(f"{where}.files", "must list at least one file")
        total = 0
        for j, f in enumerate(files):
            fw = f"{where}.files[{j}]"
            if not isinstance(f, dict):
                raise self.fail(fw, "must be an object")
            path = self.text(f, "path", fw)
            if not path.endswith(".gguf") or path.startswith("/") or ".." in path.split("/"):
                raise self.fail(f"{fw}.path", f"must be a relative .gguf path inside the repo, not {path!r}")
            total += self.count(f, "size_bytes", fw, minimum=1)
            sha = self.text(f, "sha256", fw, optional=True)
            if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
                raise self.fail(f"{fw}.sha256", "must be 64 lower-case hex digits or null")
            self.text(f, "source", fw)
        size = self.count(q, "size_bytes", where, minimum=1)
        if size != total:
            raise self.fail(f"{where}.size_bytes", f"is {size} but the files add up to {total}")
        header = self.count(q, "header_bytes", where)
        if header > MAX_HEADER_BYTES:
            raise self.fail(f"{where}.header_bytes", f"exceeds the {MAX_HEADER_BYTES} B allowance")
        bbc = self.get(q, "bytes_by_class", where, dict)
        for key in _CLASSES:
            self.count(bbc, key, f"{where}.bytes_by_class")
        classes = sum(bbc[k] for k in _CLASSES)
        if classes + header != size:
            raise self.fail(
                f"{where}.bytes_by_class", f"adds up to {classes} B but size_bytes - header_bytes is {size - header} B"
            )
        lead = self.count(bbc, "dense_leading", f"{where}.bytes_by_class", optional=True)
        if lead is not None and lead > bbc["dense"]:
            raise self.fail(f"{where}.bytes_by_class.dense_leading", "is larger than dense")
        if not arch.get("expert_count") and bbc["expert"]:
            raise self.fail(f"{where}.bytes_by_class.expert", "must be 0 for a model without experts")
        types = self.get(q, "tensor_types", where, list)
        for t in types:
            if not isinstance(t, str) or t not in _TYPE_NAMES:
                raise self.fail(f"{where}.tensor_types", f"has {t!r}, which is not a ggml type name")
        expert_types = self.get(q, "expert_tensor_types", where, list, optional=True) or []
        if not set(expert_types) <= set(types):
            raise self.fail(f"{where}.expert_tensor_types", "must be a subset of tensor_types")
        self.text(q, "tensor_types_basis", where)
        companions = self.get(q, "companions", where, list, optional=True) or []
        for j, c in enumerate(companions):
            cw = f"{where}.companions[{j}]"
            if not isinstance(c, dict):
                raise self.fail(cw, "must be an object")
            self.text(c, "path", cw)
            self.count(c, "size_bytes", cw, minimum=1)
            self.text(c, "source", cw)
        self.text(q, "source", where)
        self.text(q, "basis", where)


# --------------------------------------------------------------------------------------------------------------
# Building the shared types


def _entry(path: Path, data: dict[str, Any]) -> CatalogEntry:
    arch = data["architecture"]
    sizes = [q["size_bytes"] for q in data["quants"]]
    return CatalogEntry(
        id=data["id"],
        name=data["name"],
        order=data["order"],
        repo=data["repo"],
        architecture=arch["architecture"],
        total_params=arch["total_params"],
        active_params=arch["active_params"],
        is_moe=arch["expert_count"] > 1,
        quant_count=len(data["quants"]),
        min_size_bytes=min(sizes),
        max_size_bytes=max(sizes),
        path=path,
    )


def _per_layer(value: int | list[int], n_layer: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list) else (value,) * n_layer


def _build_facts(data: dict[str, Any]) -> ModelFacts:
    a = data["architecture"]
    n = a["block_count"]
    lic = data["license"]
    return ModelFacts(
        architecture=a["architecture"],
        block_count=n,
        context_length=a["context_length"],
        embedding_length=a["embedding_length"],
        vocab_size=a["vocab_size"],
        head_count=_per_layer(a["head_count"], n),
        head_count_kv=_per_layer(a["head_count_kv"], n),
        key_length=a["key_length"],
        value_length=a["value_length"],
        feed_forward_length=a.get("feed_forward_length"),
        rope_dimension_count=a.get("rope_dimension_count"),
        sliding_window=a.get("sliding_window"),
        swa_layers=tuple(a.get("sliding_window_layers") or ()),
        kv_lora_rank=a.get("kv_lora_rank"),
        key_length_mla=a.get("key_length_mla"),
        value_length_mla=a.get("value_length_mla"),
        expert_count=a["expert_count"],
        expert_used_count=a["expert_used_count"],
        expert_feed_forward_length=a.get("expert_feed_forward_length"),
        expert_shared_count=a.get("expert_shared_count") or 0,
        leading_dense_block_count=a.get("leading_dense_block_count") or 0,
        nextn_predict_layers=a.get("nextn_predict_layers") or 0,
        total_params=a["total_params"],
        active_params=a["active_params"],
        name=data["name"],
        size_label=a.get("size_label"),
        license=lic.get("card_license"),
        license_name=lic.get("card_license_name"),
        tied_embeddings=bool(a.get("tie_word_embeddings", False)),
    )


def _spread(total: int, n: int) -> list[int]:
    """``total`` split over ``n`` slots as evenly as integers allow; the sum stays exact."""
    if n <= 0:
        return []
    base, extra = divmod(total, n)
    return [base + (1 if i >= n - extra else 0) for i in range(n)]


def build_weight_map(bytes_by_class: dict[str, int], facts: ModelFacts) -> WeightMap:
    """Spread class bytes over the blocks: leading dense blocks get ``dense_leading`` and no expert bytes."""
    n = facts.block_count
    lead = facts.leading_dense_block_count if facts.is_moe else 0
    dense = bytes_by_class["dense"]
    expert = bytes_by_class["expert"]
    if lead:
        dense_lead = bytes_by_class.get("dense_leading")
        if dense_lead is None:  # no split recorded: the blocks share dense bytes evenly
            dense_lead = dense * lead // n
        dense_per = _spread(dense_lead, lead) + _spread(dense - dense_lead, n - lead)
    else:
        dense_per = _spread(dense, n)
    expert_per = [0] * lead + _spread(expert, n - lead)
    layers = tuple(LayerWeights(dense_bytes=d, expert_bytes=e) for d, e in zip(dense_per, expert_per, strict=True))
    return WeightMap(
        layers=layers, token_embd_bytes=bytes_by_class["token_embd"], output_bytes=bytes_by_class["output"]
    )


def _expert_types(q: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """``expert_tensor_types`` for ``QuantOption`` once that field exists (added by the risk rules' branch)."""
    if "expert_tensor_types" not in QuantOption.__dataclass_fields__:
        return {}
    return {"expert_tensor_types": tuple(sorted(q.get("expert_tensor_types") or ()))}


def _repo_file(f: dict[str, Any]) -> RepoFile:
    return RepoFile(path=f["path"], size_bytes=f["size_bytes"], sha256=f.get("sha256"), source=f.get("source"))


def _build_model(data: dict[str, Any]) -> Model:
    facts = _build_facts(data)
    options = tuple(
        QuantOption(
            quant=q["quant"],
            files=tuple(_repo_file(f) for f in q["files"]),
            size_bytes=q["size_bytes"],
            weights=build_weight_map(q["bytes_by_class"], facts),
            tensor_types=tuple(sorted(q["tensor_types"])),
            **_expert_types(q),
            companions=tuple(_repo_file(c) for c in q.get("companions") or ()),
            source=q["source"],
        )
        for q in sorted(data["quants"], key=lambda q: q["size_bytes"])
    )
    lic = data["license"]
    licence = LicenceInfo(
        card_license=lic.get("card_license"),
        card_license_name=lic.get("card_license_name"),
        card_license_link=lic.get("card_license_link"),
        base_model=data.get("base_model"),
        base_license=lic.get("base_license"),
        source=lic.get("source"),
    )
    return Model(
        id=data["id"],
        name=data["name"],
        source="catalog",
        facts=facts,
        options=options,
        licence=licence,
        repo=data["repo"],
        notes=tuple(data.get("notes") or ()),
    )


def header_bytes(model_id: str, quant: str, directory: Path | None = None) -> int:
    """The GGUF header allowance recorded for one quant (the part of the file that is not weights)."""
    for path in _files(directory):
        if path.stem.lower() == model_id.lower():
            for q in _load_valid(path)["quants"]:
                if q["quant"].lower() == quant.lower():
                    return q["header_bytes"]
    raise UnknownCatalogModelError(f"{model_id!r} / {quant!r} is not in the offline catalog.")


def raw_entry(model_id: str, directory: Path | None = None) -> dict[str, Any]:
    """The validated JSON of one entry, for ``--json`` output and the refresh command's comparisons."""
    load_catalog_model(model_id, directory)  # raises the friendly error for unknown ids
    for path in _files(directory):
        if path.stem.lower() == model_id.strip().lower():
            return json.loads(json.dumps(_load_valid(path)))  # a copy the caller may change
    raise AssertionError("unreachable")
