"""The licence knowledge base, and which licence applies to a model.

A quantization inherits its base model's licence, whatever the quant repo's card or the GGUF header says:
quant uploaders copy labels, and some copy them wrong (MiniMax M2.7 quants say "modified-mit" while MiniMax
publishes M2.7 under a non-commercial licence). So the base model's published licence wins, and every label
that disagrees with it is stated, not hidden.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from advisor.model.types import LicenceInfo, Model
from advisor.resources import resource_path

COMMERCIAL_VALUES = ("allowed", "conditional", "not_allowed", "unknown")
UNKNOWN_ID = "unknown"

#: Card/GGUF labels that say only "some other licence": they name nothing by themselves.
_GENERIC_LABELS = frozenset({"other", "unknown", "none", "custom", ""})

#: Where a piece of licence evidence came from, strongest first.
ORIGINS = ("repo", "base_model", "base_model_card", "card_link", "card", "gguf")
#: Evidence that names the original publisher's licence rather than an uploader's label.
_AUTHORITATIVE = ("repo", "base_model", "base_model_card", "card_link")
_ORIGIN_WORDS = {
    "repo": "the model's own repository",
    "base_model": "the base model",
    "base_model_card": "the base model's card",
    "card": "the repository card",
    "card_link": "the card's licence link",
    "gguf": "the GGUF file header",
}


class LicenceDataError(ValueError):
    """A licence data file is malformed: a bug in Rigfit's bundled data, caught by the tests."""


@dataclass(frozen=True)
class Licence:
    id: str
    name: str
    commercial: str  # one of COMMERCIAL_VALUES
    conditions: tuple[str, ...]
    summary: str
    link: str
    source: str
    quote: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class BaseModelLicence:
    licence: str
    source: str
    quote: str
    repo: str | None = None
    pattern: str | None = None

    def matches(self, repo_id: str) -> bool:
        wanted = repo_id.strip().lower()
        if self.repo is not None:
            return wanted == self.repo.lower()
        return self.pattern is not None and fnmatch.fnmatchcase(wanted, self.pattern.lower())


@dataclass(frozen=True)
class LicenceEvidence:
    """One label found for the model, and the licence it names (None when Rigfit does not know the label)."""

    origin: str  # one of ORIGINS
    label: str  # as found, e.g. "other / modified-mit" or "MiniMaxAI/MiniMax-M2.7"
    licence_id: str | None


@dataclass(frozen=True)
class LicenceVerdict:
    """The licence that applies, why, and what disagrees with it."""

    licence: Licence
    decided_by: str  # an ORIGINS value, or "none" when nothing was recognised
    evidence: tuple[LicenceEvidence, ...]
    disagreement: str | None = None

    @property
    def commercial(self) -> str:
        return self.licence.commercial

    @property
    def conflicting(self) -> tuple[LicenceEvidence, ...]:
        return tuple(e for e in self.evidence if _disagrees(e, self.licence.id))


@dataclass(frozen=True)
class LicenceBase:
    licences: dict[str, Licence]
    by_alias: dict[str, str]
    bases: tuple[BaseModelLicence, ...]

    def get(self, licence_id: str) -> Licence:
        return self.licences[licence_id]

    def resolve_label(self, label: str | None) -> str | None:
        """The licence id a card/GGUF label names, or None for a generic or unknown label."""
        key = _normalise(label)
        if key in _GENERIC_LABELS:
            return None
        return self.by_alias.get(key)

    def base_for(self, repo_id: str) -> BaseModelLicence | None:
        """Exact repo entries win over family patterns."""
        exact = [b for b in self.bases if b.repo is not None and b.matches(repo_id)]
        if exact:
            return exact[0]
        return next((b for b in self.bases if b.pattern is not None and b.matches(repo_id)), None)


def _normalise(label: str | None) -> str:
    return " ".join((label or "").strip().lower().split())


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LicenceDataError(f"{path}: {exc}") from exc


def _text(entry: dict, key: str, where: str, *, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise LicenceDataError(f"{where}: `{key}` must be a non-empty string")
    return value


def parse_licences(data: dict, where: str = "licences.toml") -> tuple[dict[str, Licence], dict[str, str]]:
    licences: dict[str, Licence] = {}
    by_alias: dict[str, str] = {}
    for i, entry in enumerate(data.get("licence", [])):
        at = f"{where} licence #{i + 1}"
        lid = _text(entry, "id", at)
        at = f"{where} licence {lid!r}"
        if lid in licences:
            raise LicenceDataError(f"{at}: duplicate id")
        commercial = _text(entry, "commercial", at)
        if commercial not in COMMERCIAL_VALUES:
            raise LicenceDataError(f"{at}: commercial must be one of {', '.join(COMMERCIAL_VALUES)}")
        conditions = entry.get("conditions", [])
        aliases = entry.get("aliases", [])
        well_formed = isinstance(conditions, list) and isinstance(aliases, list)
        if (
            not well_formed
            or not all(isinstance(c, str) and c for c in conditions)
            or not all(isinstance(a, str) for a in aliases)
        ):
            raise LicenceDataError(f"{at}: conditions and aliases must be lists of strings")
        known = lid != UNKNOWN_ID
        licences[lid] = Licence(
            id=lid,
            name=_text(entry, "name", at),
            commercial=commercial,
            conditions=tuple(conditions),
            summary=_text(entry, "summary", at),
            link=_text(entry, "link", at, required=known),
            source=_text(entry, "source", at, required=known),
            quote=_text(entry, "quote", at, required=known),
            aliases=tuple(aliases),
        )
        for alias in (lid, *aliases):
            key = _normalise(alias)
            if key in by_alias and by_alias[key] != lid:
                raise LicenceDataError(f"{at}: alias {alias!r} already names {by_alias[key]!r}")
            by_alias[key] = lid
    if UNKNOWN_ID not in licences:
        raise LicenceDataError(f"{where}: the {UNKNOWN_ID!r} licence must be defined")
    return licences, by_alias


def parse_bases(data: dict, licences: dict[str, Licence], where: str = "base_models.toml") -> tuple:
    bases = []
    for i, entry in enumerate(data.get("base", [])):
        at = f"{where} base #{i + 1}"
        repo, pattern = entry.get("repo"), entry.get("pattern")
        if (repo is None) == (pattern is None):
            raise LicenceDataError(f"{at}: give exactly one of `repo` or `pattern`")
        lid = _text(entry, "licence", at)
        if lid not in licences:
            raise LicenceDataError(f"{at}: unknown licence {lid!r}")
        bases.append(
            BaseModelLicence(
                licence=lid,
                source=_text(entry, "source", at),
                quote=_text(entry, "quote", at),
                repo=repo,
                pattern=pattern,
            )
        )
    return tuple(bases)


@cache
def load_licence_base(root: Path | None = None) -> LicenceBase:
    """The bundled knowledge base, read once per process."""
    folder = root or resource_path("licences")
    licences, by_alias = parse_licences(_read_toml(folder / "licences.toml"))
    bases = parse_bases(_read_toml(folder / "base_models.toml"), licences)
    return LicenceBase(licences=licences, by_alias=by_alias, bases=bases)


_HF_REPO_IN_URL = re.compile(r"huggingface\.co/([\w.-]+/[\w.-]+)/(?:blob|resolve|raw)/", re.IGNORECASE)


_PARENTHESISED = re.compile(r"\([^)]*\)")


def _resolve_with_link(kb: LicenceBase, label: str) -> str | None:
    """A label such as "other (https://huggingface.co/Org/Base/blob/main/LICENSE)": the name, else the link."""
    resolved = kb.resolve_label(_PARENTHESISED.sub("", label))
    if resolved is None and (m := _HF_REPO_IN_URL.search(label)):
        entry = kb.base_for(m.group(1))
        resolved = entry.licence if entry else None
    return resolved


def _is_generic(label: str) -> bool:
    """True for labels that name no licence: "other", "other / other", "other (https://...)"."""
    last = _PARENTHESISED.sub("", label).split(" / ")[-1]
    return _normalise(last) in _GENERIC_LABELS


def _split_base_models(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    parts = re.split(r"[,\s]+", value)
    return tuple(p for p in parts if "/" in p)


def _label_evidence(kb: LicenceBase, origin: str, licence: str | None, name: str | None) -> LicenceEvidence | None:
    """A card or GGUF pair (`license`, `license_name`): the name is more specific, so it is tried first."""
    if not (licence or name):
        return None
    label = " / ".join(x for x in (licence, name) if x)
    resolved = kb.resolve_label(name) or kb.resolve_label(licence)
    return LicenceEvidence(origin=origin, label=label, licence_id=resolved)


def collect_evidence(model: Model, kb: LicenceBase | None = None) -> tuple[LicenceEvidence, ...]:
    """Every licence label found for the model, in ORIGINS order."""
    return _collect(kb or load_licence_base(), model.repo, model.licence, model.facts.license, model.facts.license_name)


def _collect(
    kb: LicenceBase,
    repo: str | None,
    info: LicenceInfo,
    header_licence: str | None,
    header_name: str | None,
) -> tuple[LicenceEvidence, ...]:
    found: list[LicenceEvidence] = []
    if repo and (entry := kb.base_for(repo)):
        found.append(LicenceEvidence("repo", repo, entry.licence))
    for base in _split_base_models(info.base_model):
        entry = kb.base_for(base)
        found.append(LicenceEvidence("base_model", base, entry.licence if entry else None))
    if info.base_license:
        found.append(LicenceEvidence("base_model_card", info.base_license, _resolve_with_link(kb, info.base_license)))
    if info.card_license_link and (m := _HF_REPO_IN_URL.search(info.card_license_link)):
        entry = kb.base_for(m.group(1))
        if entry:
            found.append(LicenceEvidence("card_link", info.card_license_link, entry.licence))
    if card := _label_evidence(kb, "card", info.card_license, info.card_license_name):
        found.append(card)
    gguf_licence = info.gguf_license or header_licence
    gguf_name = info.gguf_license_name or header_name
    if gguf := _label_evidence(kb, "gguf", gguf_licence, gguf_name):
        found.append(gguf)
    return tuple(found)


def _disagrees(evidence: LicenceEvidence, winner_id: str) -> bool:
    if winner_id == UNKNOWN_ID or (evidence.origin == "base_model" and evidence.licence_id is None):
        return False
    if evidence.licence_id is None:
        # A specific label Rigfit does not know still contradicts a known licence; a bare "other" does not.
        return not _is_generic(evidence.label)
    return evidence.licence_id != winner_id


def _describe(kb: LicenceBase, evidence: LicenceEvidence) -> str:
    where = _ORIGIN_WORDS.get(evidence.origin, evidence.origin)
    if evidence.origin in ("base_model", "repo"):
        lic = kb.get(evidence.licence_id) if evidence.licence_id else None
        return f"{where} {evidence.label} is under {lic.name if lic else 'an unknown licence'}"
    if evidence.licence_id is None:
        return f'{where} says "{evidence.label}", a label Rigfit does not recognise'
    if evidence.origin == "card_link":
        return f"{where} points to {evidence.label}, which is the {kb.get(evidence.licence_id).name}"
    lic = kb.get(evidence.licence_id)
    return f'{where} says "{evidence.label}" ({lic.name})'


def identify_licence(model: Model, kb: LicenceBase | None = None) -> LicenceVerdict:
    """The licence that applies to ``model``: the strongest recognised evidence, disagreements spelled out.

    With the bundled knowledge base the answer is cached per set of labels, since the planner asks once per
    quantization option and every option of a model carries the same labels.
    """
    key = (model.repo, model.licence, model.facts.license, model.facts.license_name)
    if kb is None:
        return _identify_bundled(*key)
    return _identify(kb, *key)


@lru_cache(maxsize=256)
def _identify_bundled(
    repo: str | None, info: LicenceInfo, header_licence: str | None, header_name: str | None
) -> LicenceVerdict:
    return _identify(load_licence_base(), repo, info, header_licence, header_name)


def _identify(
    kb: LicenceBase, repo: str | None, info: LicenceInfo, header_licence: str | None, header_name: str | None
) -> LicenceVerdict:
    evidence = _collect(kb, repo, info, header_licence, header_name)
    winner = next((e for e in evidence if e.licence_id is not None), None)
    if winner is None:
        return LicenceVerdict(licence=kb.get(UNKNOWN_ID), decided_by="none", evidence=evidence)
    licence = kb.get(winner.licence_id or UNKNOWN_ID)
    conflicts = [e for e in evidence if _disagrees(e, licence.id)]
    disagreement = None
    if conflicts:
        said = "; ".join(_describe(kb, e) for e in conflicts)
        basis = _describe(kb, winner)
        disagreement = (
            f"The labels disagree: {said}. But {basis}, and that licence applies to this download: "
            f"a quantization or copy carries its original's licence whatever its card says."
        )
        if winner.origin not in _AUTHORITATIVE:
            disagreement = (
                f"The labels disagree: {said}. Rigfit uses {basis}; check the model's LICENSE file "
                f"before relying on either."
            )
    return LicenceVerdict(licence=licence, decided_by=winner.origin, evidence=evidence, disagreement=disagreement)
