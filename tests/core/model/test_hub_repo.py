"""Grouping realistic Hub file lists into quant options, and licences that follow base_model."""

from __future__ import annotations

import pytest

from advisor.model.hub_repo import (
    base_model_of,
    group_quant_options,
    licence_from_cards,
    pick_representative,
    quant_tag,
)
from advisor.model.types import RepoFile

GB = 10**9


def _files(*entries: tuple[str, int]) -> list[RepoFile]:
    return [RepoFile(path=p, size_bytes=s, sha256=f"{i:064x}") for i, (p, s) in enumerate(entries)]


@pytest.mark.parametrize(
    ("path", "tag"),
    [
        ("UD-Q4_K_XL/MiniMax-M2.7-UD-Q4_K_XL-00001-of-00004.gguf", "UD-Q4_K_XL"),
        ("MiniMax-M2.7-UD-IQ3_S-00002-of-00003.gguf", "UD-IQ3_S"),
        ("MiniMaxAI_MiniMax-M2.7-Q4_K_M.gguf", "Q4_K_M"),
        ("Llama-3.2-1B-Instruct-IQ1_M.gguf", "IQ1_M"),
        ("Qwen3-8B-IQ2_XXS.gguf", "IQ2_XXS"),
        ("BF16/MiniMax-M2.7-BF16-00003-of-00010.gguf", "BF16"),
        ("gpt-oss-20b-mxfp4.gguf", "MXFP4"),
        ("qwen3-8b-q8_0.gguf", "Q8_0"),
        ("model-fp16.gguf", "F16"),
        ("Q5_K_M/model-00001-of-00002.gguf", "Q5_K_M"),  # tag from the folder only
        ("DeepSeek-R1-UD-TQ1_0.gguf", "UD-TQ1_0"),
        ("Llama-3.2-1B-Instruct.gguf", None),
    ],
)
def test_quant_tags(path: str, tag: str | None) -> None:
    assert quant_tag(path) == tag


def test_unsloth_folder_layout_with_duplicates_missing_shard_and_mmproj() -> None:
    files = _files(
        (".gitattributes", 2000),
        ("README.md", 9000),
        ("UD-IQ1_M/MiniMax-M2.7-UD-IQ1_M-00002-of-00002.gguf", 11 * GB),
        ("UD-IQ1_M/MiniMax-M2.7-UD-IQ1_M-00001-of-00002.gguf", 49 * GB),
        *[(f"UD-Q4_K_XL/MiniMax-M2.7-UD-Q4_K_XL-{i:05d}-of-00004.gguf", 35 * GB) for i in (1, 2, 3, 4)],
        *[(f"BF16/MiniMax-M2.7-BF16-{i:05d}-of-00010.gguf", 46 * GB) for i in range(1, 11)],
        *[(f"MiniMax-M2.7-UD-IQ3_S-{i:05d}-of-00003.gguf", 28 * GB) for i in (1, 2, 3)],
        *[(f"UD-IQ3_S/MiniMax-M2.7-UD-IQ3_S-{i:05d}-of-00003.gguf", 27 * GB) for i in (1, 2, 3)],
        *[(f"Q8_0/MiniMax-M2.7-Q8_0-{i:05d}-of-00005.gguf", 46 * GB) for i in (1, 2, 4, 5)],
        ("mmproj-F16.gguf", 900_000_000),
        ("imatrix_unsloth.gguf_file", 100_000),
    )
    g = group_quant_options(files, source="test")
    by_name = {o.quant: o for o in g.options}
    assert list(by_name) == ["UD-IQ1_M", "UD-IQ3_S (UD-IQ3_S)", "UD-IQ3_S (top folder)", "UD-Q4_K_XL", "BF16"]
    iq1 = by_name["UD-IQ1_M"]
    assert [f.path.rsplit("-", 3)[-3] for f in iq1.files] == ["00001", "00002"]  # first shard first
    assert iq1.size_bytes == 60 * GB
    assert by_name["BF16"].size_bytes == 460 * GB and len(by_name["BF16"].files) == 10
    assert all([c.path for c in o.companions] == ["mmproj-F16.gguf"] for o in g.options)
    assert "Q8_0" not in by_name
    assert any("Q8_0" in n and "3" in n and "of 5" in n for n in g.notes)
    assert any("mmproj-F16.gguf" in n for n in g.notes)
    assert pick_representative(g.options).quant == "UD-IQ1_M"


def test_bartowski_single_files_and_split_folder() -> None:
    files = _files(
        ("MiniMaxAI_MiniMax-M2.7-IQ1_M.gguf", 55 * GB),
        ("MiniMaxAI_MiniMax-M2.7-Q4_K_M.gguf", 138 * GB),
        ("MiniMaxAI_MiniMax-M2.7-Q8_0/MiniMaxAI_MiniMax-M2.7-Q8_0-00001-of-00002.gguf", 45 * GB),
        ("MiniMaxAI_MiniMax-M2.7-Q8_0/MiniMaxAI_MiniMax-M2.7-Q8_0-00002-of-00002.gguf", 40 * GB),
        ("MiniMaxAI_MiniMax-M2.7.imatrix", 1_000_000),
    )
    g = group_quant_options(files)
    assert [(o.quant, o.size_bytes, len(o.files)) for o in g.options] == [
        ("IQ1_M", 55 * GB, 1),
        ("Q8_0", 85 * GB, 2),
        ("Q4_K_M", 138 * GB, 1),
    ]
    assert all(o.files[0].sha256 and len(o.files[0].sha256) == 64 for o in g.options)
    assert g.notes == ()


def test_a_repo_without_gguf_files_has_no_options() -> None:
    g = group_quant_options(_files(("model-00001-of-00002.safetensors", 5 * GB), ("config.json", 900)))
    assert g.options == ()


def test_licence_prefers_nothing_but_records_everything() -> None:
    card = {"license": "other", "license_name": "modified-mit", "base_model": ["MiniMaxAI/MiniMax-M2.7"]}
    base = {"license": "other", "license_name": "minimax-m2.7-non-commercial", "license_link": "LICENSE"}
    lic = licence_from_cards("unsloth/MiniMax-M2.7-GGUF", card, base, "MiniMaxAI/MiniMax-M2.7")
    assert (lic.card_license, lic.card_license_name) == ("other", "modified-mit")
    assert lic.base_model == "MiniMaxAI/MiniMax-M2.7"
    assert lic.base_license == "minimax-m2.7-non-commercial"
    assert "MiniMaxAI/MiniMax-M2.7 card" in (lic.source or "")
    plain = licence_from_cards("org/x", {"license": "apache-2.0"}, None, None)
    assert (plain.card_license, plain.base_license, plain.base_model) == ("apache-2.0", None, None)


def test_base_model_from_card_or_hub_tags() -> None:
    assert base_model_of({"base_model": ["org/a", "org/b"]}) == "org/a"
    tags = ["gguf", "base_model:org/finetune", "base_model:quantized:org/original", "license:other"]
    assert base_model_of({"_tags": tags}) == "org/original"
    assert base_model_of({"_tags": ["base_model:org/finetune"]}) == "org/finetune"
    assert base_model_of({"license": "mit"}) is None
