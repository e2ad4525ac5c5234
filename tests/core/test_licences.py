"""Which licence applies to a model, table-driven over the label combinations quant repos really publish."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from advisor.model.types import LicenceInfo, Model, ModelFacts, QuantOption, RepoFile
from advisor.risks.licences import (
    COMMERCIAL_VALUES,
    LicenceDataError,
    collect_evidence,
    identify_licence,
    load_licence_base,
    parse_bases,
    parse_licences,
)

NO_LABELS = LicenceInfo()


def make_model(
    info: LicenceInfo = NO_LABELS,
    *,
    repo: str | None = "someone/some-model-GGUF",
    header: tuple[str | None, str | None] = (None, None),
) -> Model:
    facts = ModelFacts(
        architecture="llama", block_count=1, context_length=4096, embedding_length=64, vocab_size=100,
        head_count=(1,), head_count_kv=(1,), key_length=64, value_length=64,
        license=header[0], license_name=header[1],
    )  # fmt: skip
    option = QuantOption(quant="Q4_K_M", files=(RepoFile("m.gguf", 1),), size_bytes=1)
    return Model(id=repo or "local.gguf", name="m", source="hub", facts=facts, options=(option,), licence=info,
                 repo=repo)  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    model: Model
    licence: str
    commercial: str
    decided_by: str
    disagreement: tuple[str, ...] | None = None  # words the disagreement must contain; None: no disagreement


M27_CARD = LicenceInfo(card_license="other", card_license_name="modified-mit", base_model="MiniMaxAI/MiniMax-M2.7")

CASES = [
    Case("unsloth M2.7 quant: card and header say modified-mit, base is non-commercial",
         make_model(M27_CARD, repo="unsloth/MiniMax-M2.7-GGUF", header=("other", "modified-mit")),
         "minimax-m2.7", "not_allowed", "base_model",
         ("repository card", "GGUF file header", "modified-mit", "MiniMaxAI/MiniMax-M2.7", "Non-Commercial")),
    Case("the official M2.7 repo itself, whose card metadata still says modified-mit",
         make_model(LicenceInfo(card_license="other", card_license_name="modified-mit"), repo="MiniMaxAI/MiniMax-M2.7"),
         "minimax-m2.7", "not_allowed", "repo", ("modified-mit",)),
    Case("a card that names the non-commercial licence correctly",
         make_model(LicenceInfo(card_license="other", card_license_name="minimax-m2.7-non-commercial")),
         "minimax-m2.7", "not_allowed", "card"),
    Case("card says modified-mit and links the base's LICENSE on the Hub",
         make_model(LicenceInfo(card_license="other", card_license_name="modified-mit",
                                card_license_link="https://huggingface.co/MiniMaxAI/MiniMax-M2.7/blob/main/LICENSE")),
         "minimax-m2.7", "not_allowed", "card_link", ("modified-mit", "points to")),
    Case("card says modified-mit with only a GitHub link: the label is all there is",
         make_model(LicenceInfo(card_license="other", card_license_name="modified-mit",
                                card_license_link="https://github.com/MiniMax-AI/MiniMax-M2.7/blob/main/LICENSE")),
         "modified-mit", "conditional", "card"),
    Case("M2.5 quant: MIT plus a display clause for every commercial product",
         make_model(LicenceInfo(card_license="other", card_license_name="modified-mit",
                                base_model="MiniMaxAI/MiniMax-M2.5")),
         "minimax-m2.5", "conditional", "base_model", ("modified-mit",)),
    Case("Llama 3.1 quant whose card agrees with its base",
         make_model(LicenceInfo(card_license="llama3.1", base_model="meta-llama/Llama-3.1-8B-Instruct")),
         "llama3.1", "conditional", "base_model"),
    Case("Llama 4 family pattern", make_model(LicenceInfo(base_model="meta-llama/Llama-4-Scout-17B-16E-Instruct")),
         "llama4", "conditional", "base_model"),
    Case("Qwen 2.5 3B: a bare 'other' card does not contradict the research licence",
         make_model(LicenceInfo(card_license="other", base_model="Qwen/Qwen2.5-3B-Instruct")),
         "qwen-research", "not_allowed", "base_model"),
    Case("Qwen 2.5 3B quant mislabelled apache-2.0",
         make_model(LicenceInfo(card_license="apache-2.0", base_model="Qwen/Qwen2.5-3B-Instruct")),
         "qwen-research", "not_allowed", "base_model", ("apache-2.0", "Qwen Research")),
    Case("Qwen3 family is Apache", make_model(LicenceInfo(card_license="apache-2.0", base_model="Qwen/Qwen3-32B")),
         "apache-2.0", "allowed", "base_model"),
    Case("gpt-oss quant", make_model(LicenceInfo(card_license="apache-2.0", base_model="openai/gpt-oss-20b")),
         "apache-2.0", "allowed", "base_model"),
    Case("Gemma 3 quant", make_model(LicenceInfo(card_license="gemma", base_model="google/gemma-3-12b-it")),
         "gemma", "conditional", "base_model"),
    Case("GLM-4.5 is MIT", make_model(LicenceInfo(card_license="mit", base_model="zai-org/GLM-4.5-Air")),
         "mit", "allowed", "base_model"),
    Case("DeepSeek V3 model licence", make_model(LicenceInfo(card_license="other", card_license_name="deepseek",
                                                             base_model="deepseek-ai/DeepSeek-V3")),
         "deepseek", "conditional", "base_model"),
    Case("NVIDIA open model licence by label",
         make_model(LicenceInfo(card_license="other", card_license_name="nvidia-open-model-license")),
         "nvidia-open-model", "allowed", "card"),
    Case("the base model's own card licence when the base is not in the table",
         make_model(LicenceInfo(card_license="mit", base_model="lab/research-model", base_license="cc-by-nc-4.0")),
         "cc-by-nc-4.0", "not_allowed", "base_model_card", ("mit", "cc-by-nc-4.0")),
    Case("base card read by the Hub layer as 'other' plus its licence link",
         make_model(LicenceInfo(card_license="mit", base_model="lab/base",
                                base_license="other (https://huggingface.co/MiniMaxAI/MiniMax-M2.7/blob/main/LICENSE)")),
         "minimax-m2.7", "not_allowed", "base_model_card", ("mit",)),
    Case("base card 'other' with a link Rigfit cannot place: the card label decides, no false disagreement",
         make_model(LicenceInfo(card_license="mit", base_model="lab/base",
                                base_license="other (https://example.org/LICENSE)")),
         "mit", "allowed", "card"),
    Case("the official base card still says modified-mit: stated as a disagreement too",
         make_model(LicenceInfo(card_license="other", card_license_name="modified-mit",
                                base_model="MiniMaxAI/MiniMax-M2.7", base_license="modified-mit")),
         "minimax-m2.7", "not_allowed", "base_model", ("the base model's card says",)),
    Case("only the GGUF header says anything", make_model(LicenceInfo(), header=("apache-2.0", None)),
         "apache-2.0", "allowed", "gguf"),
    Case("labels are matched case-insensitively", make_model(LicenceInfo(card_license="Apache-2.0")),
         "apache-2.0", "allowed", "card"),
    Case("card and header disagree with no base to settle it",
         make_model(LicenceInfo(card_license="mit"), header=("cc-by-nc-4.0", None)),
         "mit", "allowed", "card", ("MIT", "cc-by-nc-4.0", "check the model's LICENSE")),
    Case("an unknown base with a recognised card label",
         make_model(LicenceInfo(card_license="llama3.3", base_model="someone/finetune")),
         "llama3.3", "conditional", "card"),
    Case("several base models: the known one decides",
         make_model(LicenceInfo(base_model="someone/merge-part, MiniMaxAI/MiniMax-M2")),
         "minimax-m2", "conditional", "base_model"),
    Case("a label Rigfit does not know contradicts a known base",
         make_model(LicenceInfo(card_license="other", card_license_name="weird-licence-9",
                                base_model="openai/gpt-oss-120b")),
         "apache-2.0", "allowed", "base_model", ("weird-licence-9", "does not recognise")),
    Case("nothing at all", make_model(LicenceInfo(), repo=None), "unknown", "unknown", "none"),
    Case("only 'other'", make_model(LicenceInfo(card_license="other")), "unknown", "unknown", "none"),
    Case("only an unrecognised label", make_model(LicenceInfo(card_license="my-own-terms")),
         "unknown", "unknown", "none"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_identify_licence(case: Case) -> None:
    verdict = identify_licence(case.model)
    assert (verdict.licence.id, verdict.commercial, verdict.decided_by) == (
        case.licence,
        case.commercial,
        case.decided_by,
    )
    if case.disagreement is None:
        assert verdict.disagreement is None
        assert verdict.conflicting == ()
    else:
        assert verdict.disagreement is not None
        for word in case.disagreement:
            assert word in verdict.disagreement, (word, verdict.disagreement)


def test_minimax_m27_verdict_carries_the_conditions_users_must_read() -> None:
    verdict = identify_licence(make_model(M27_CARD))
    text = " ".join(verdict.licence.conditions)
    assert "prior written authorisation" in text and "api@minimax.io" in text
    assert '"Built with MiniMax M2.7"' in text
    assert "self-hosting" in text and "non-profit" in text
    assert verdict.licence.link.startswith("https://huggingface.co/MiniMaxAI/MiniMax-M2.7")
    assert [e.origin for e in verdict.conflicting] == ["card"]


def test_evidence_lists_every_label_found_strongest_first() -> None:
    model = make_model(M27_CARD, repo="unsloth/MiniMax-M2.7-GGUF", header=("other", "modified-mit"))
    evidence = collect_evidence(model)
    assert [e.origin for e in evidence] == ["base_model", "card", "gguf"]
    assert evidence[1].label == "other / modified-mit"


def test_the_answer_is_the_same_with_an_explicit_knowledge_base() -> None:
    model = make_model(M27_CARD)
    assert identify_licence(model, load_licence_base()) == identify_licence(model)


# --- the bundled data ------------------------------------------------------------------------------------


def test_every_known_licence_is_sourced() -> None:
    kb = load_licence_base()
    for licence in kb.licences.values():
        assert licence.commercial in COMMERCIAL_VALUES
        assert licence.summary and licence.conditions, licence.id
        if licence.id != "unknown":
            assert licence.link.startswith("https://"), licence.id
            assert licence.source.startswith("https://"), licence.id
            assert len(licence.quote) > 20, licence.id
    for base in kb.bases:
        assert base.licence in kb.licences and base.source.startswith("https://")


def test_required_licences_are_present() -> None:
    ids = set(load_licence_base().licences)
    assert {
        "mit", "apache-2.0", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "qwen", "qwen-research",
        "deepseek", "minimax-m2", "minimax-m2.5", "minimax-m2.7", "nvidia-open-model", "cc-by-4.0",
        "cc-by-nc-4.0", "unknown",
    } <= ids  # fmt: skip


def test_exact_repo_entries_win_over_family_patterns() -> None:
    kb = load_licence_base()
    assert kb.base_for("qwen/qwen2.5-3b-instruct").licence == "qwen-research"
    assert kb.base_for("Qwen/Qwen3-0.6B").licence == "apache-2.0"
    assert kb.base_for("nobody/nothing") is None


GOOD = {"id": "x", "name": "X", "commercial": "allowed", "conditions": ["c"], "summary": "s",
        "link": "https://x", "source": "https://x", "quote": "q", "aliases": ["xx"]}  # fmt: skip
UNKNOWN = {**GOOD, "id": "unknown", "aliases": ["other"]}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{**GOOD, "commercial": "maybe"}, UNKNOWN], "commercial must be one of"),
        ([GOOD, {**GOOD, "id": "y", "aliases": ["XX"]}, UNKNOWN], "already names"),
        ([GOOD, GOOD, UNKNOWN], "duplicate id"),
        ([GOOD], "'unknown' licence must be defined"),
        ([{**GOOD, "link": ""}, UNKNOWN], "`link` must be"),
        ([{**GOOD, "conditions": "one"}, UNKNOWN], "lists of strings"),
    ],
)
def test_malformed_licence_data_is_refused(entries: list[dict], message: str) -> None:
    with pytest.raises(LicenceDataError, match=message):
        parse_licences({"licence": entries})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"repo": "a/b", "licence": "nope", "source": "https://x", "quote": "q"}, "unknown licence"),
        ({"repo": "a/b", "pattern": "a/*", "licence": "x", "source": "https://x", "quote": "q"}, "exactly one"),
        ({"licence": "x", "source": "https://x", "quote": "q"}, "exactly one"),
    ],
)
def test_malformed_base_table_is_refused(entry: dict, message: str) -> None:
    licences, _ = parse_licences({"licence": [GOOD, UNKNOWN]})
    with pytest.raises(LicenceDataError, match=message):
        parse_bases({"base": [entry]}, licences)


def test_a_broken_toml_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / "licences.toml").write_text("licence = [", encoding="utf-8")
    (tmp_path / "base_models.toml").write_text("", encoding="utf-8")
    with pytest.raises(LicenceDataError, match=r"licences\.toml"):
        load_licence_base(tmp_path)
