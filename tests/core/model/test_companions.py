"""Optional side files: the kinds in resources/download/companions.toml and how files are matched to them."""

from __future__ import annotations

import pytest

from advisor.model.companions import companion_kind, companion_kinds, companions_for, usage_text
from advisor.model.hub_repo import group_quant_options
from advisor.model.resolve import resolve_model
from advisor.model.types import RepoFile


def test_every_kind_has_words_and_a_source() -> None:
    kinds = companion_kinds()
    assert {k.id for k in kinds} == {"mmproj", "imatrix"}
    for kind in kinds:
        assert kind.title and kind.purpose and kind.usage
        assert kind.source.startswith("https://github.com/ggml-org/llama.cpp/")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("mmproj-model-f16.gguf", "mmproj"),
        ("vision/MMPROJ-F32.gguf", "mmproj"),
        ("imatrix_unsloth.gguf", "imatrix"),
        ("Qwen3-8B.imatrix", "imatrix"),
        ("Q4_K_M/model-Q4_K_M-00001-of-00002.gguf", None),
        ("model-with-mmproj-in-the-middle-Q8_0.gguf", None),
    ],
)
def test_files_are_matched_by_name(path: str, kind: str | None) -> None:
    found = companion_kind(path)
    assert (found.id if found else None) == kind


def test_the_usage_names_the_local_file() -> None:
    kind = companion_kind("mmproj-model-f16.gguf")
    assert kind is not None
    assert "--mmproj /data/mmproj-model-f16.gguf" in usage_text(kind, "/data/mmproj-model-f16.gguf")


def test_the_hub_listing_sets_companions_apart_from_quants() -> None:
    files = [
        RepoFile("model-Q8_0.gguf", 1000, "a" * 64),
        RepoFile("mmproj-model-f16.gguf", 300, "b" * 64),
        RepoFile("README.md", 10),
    ]
    grouping = group_quant_options(files)
    assert [o.quant for o in grouping.options] == ["Q8_0"]
    assert [c.path for c in grouping.options[0].companions] == ["mmproj-model-f16.gguf"]


def test_companions_for_a_catalog_quant() -> None:
    model = resolve_model("gemma-3-27b-it")
    quant = model.options[0].quant
    assert [f.path for f in companions_for(model, quant)] == ["mmproj-model-f16.gguf"]
    assert companions_for(model, "NO_SUCH_QUANT") == ()
