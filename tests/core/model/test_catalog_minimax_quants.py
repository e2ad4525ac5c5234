"""MiniMax M2.7 quants whose file sizes come from real file listings, not from an estimate.

The catalog's other checks are generic (files add up, classes add up); these pin what the sources say for the
quants whose shard sizes are exact bytes, and check the observed UD-IQ2_XXS recipe against its llama.cpp load
log, which is what makes its per-class split trustworthy.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from advisor.model.catalog import catalog_dir, load_catalog_model
from advisor.plan.planner import plan
from tests.fixtures.plans import two_gpu_machine

GIB = 2**30
METADATA_SHARD = 8_237_824  # unsloth's M2.7 shard 1 holds only the GGUF header

# Exact shard sizes as the sources give them (see the quant's "source" in the catalog entry).
PUBLISHED_SHARDS = {
    "UD-IQ2_XXS": [METADATA_SHARD, 49_754_838_912, 15_618_537_024],
    "UD-IQ4_XS": [METADATA_SHARD, 49_638_761_280, 49_598_675_552, 9_168_106_656],
}


def _tool():
    path = catalog_dir() / "tools" / "build_catalog.py"
    spec = importlib.util.spec_from_file_location("rigfit_build_catalog_minimax", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _raw_quants() -> dict[str, dict]:
    raw = json.loads((catalog_dir() / "minimax-m2.7.json").read_text())
    return {q["quant"]: q for q in raw["quants"]}


@pytest.mark.parametrize("quant", sorted(PUBLISHED_SHARDS))
def test_published_shards_are_the_exact_bytes_and_paths(quant: str) -> None:
    sizes = PUBLISHED_SHARDS[quant]
    option = load_catalog_model("minimax-m2.7").option(quant)
    n = len(sizes)
    assert [f.path for f in option.files] == [
        f"{quant}/MiniMax-M2.7-{quant}-{k:05d}-of-{n:05d}.gguf" for k in range(1, n + 1)
    ]
    assert [f.size_bytes for f in option.files] == sizes
    assert option.size_bytes == sum(sizes)
    raw = _raw_quants()[quant]
    assert raw["size_basis"].startswith("published:")
    assert all(f["basis"].startswith("published:") for f in raw["files"])


def test_iq4_xs_total_is_the_listing_not_the_bits_per_weight_estimate() -> None:
    """The old 3.79 BPW x 228.69e9 / 8 figure is gone; the listing's total stays within 0.1% of it."""
    size = load_catalog_model("minimax-m2.7").option("UD-IQ4_XS").size_bytes
    estimate = round(228_690_000_000 * 3.79 / 8)
    assert size == 108_413_781_312 != estimate
    assert abs(size - estimate) / size < 0.001


def test_observed_iq2_xxs_recipe_reproduces_the_load_log() -> None:
    """Typed by the recipe, the tensor list gives the log's type counts and its 'file size = 60.88 GiB'."""
    tool = _tool()
    arch = tool.minimax_arch()
    recipe = tool.MINIMAX_UD_IQ2_XXS_RECIPE
    counts = Counter(tool.recipe_type(t, recipe).lower() for t in tool.tensors(arch))
    assert counts == {"f32": 373, "q5_k": 248, "q4_k": 2, "iq2_xxs": 124, "iq2_s": 62}

    by, _, _ = tool.class_bytes(arch, None, recipe)
    tensor_bytes = by["token_embd"] + by["output"] + by["dense"] + by["expert"]
    assert round(tensor_bytes / GIB, 2) == 60.88
    # what the three files hold beyond the tensors (headers, alignment) fits the catalog's header allowance
    overhead = sum(PUBLISHED_SHARDS["UD-IQ2_XXS"]) - tensor_bytes
    assert METADATA_SHARD < overhead <= tool.header_estimate(arch)


def test_iq2_xxs_carries_its_observed_types_and_sorts_by_size() -> None:
    model = load_catalog_model("minimax-m2.7")
    option = model.option("UD-IQ2_XXS")
    assert option.expert_tensor_types == ("iq2_s", "iq2_xxs")
    quants = [o.quant for o in model.options]
    assert quants.index("UD-IQ1_M") < quants.index("UD-IQ2_XXS") < quants.index("UD-IQ2_M")
    raw = _raw_quants()["UD-IQ2_XXS"]
    assert raw["tensor_types"] == ["f32", "iq2_s", "iq2_xxs", "q4_k", "q5_k"]
    assert raw["tensor_types_basis"].startswith("observed:")


# The Hub's display sizes (decimal GB, 3 significant digits) at unsloth/MiniMax-M2.7-GGUF@04ab68de.
DISPLAY_GB = {
    "UD-IQ1_M": 60.7,
    "UD-IQ2_M": 70.1,
    "UD-Q2_K_XL": 75.3,
    "UD-IQ3_XXS": 80.1,
    "UD-Q3_K_S": 93.6,
    "UD-Q3_K_M": 101,
    "UD-Q3_K_XL": 102,
    "UD-IQ4_NL": 111,
    "UD-Q4_K_S": 131,
    "MXFP4_MOE": 136,
    "UD-Q4_K_M": 140,
    "UD-Q4_K_XL": 141,
    "UD-Q5_K_S": 159,
    "UD-Q5_K_M": 169,
    "UD-Q5_K_XL": 169,
    "UD-Q6_K": 188,
    "UD-Q6_K_XL": 207,
    "Q8_0": 243,
    "UD-Q8_K_XL": 247,
    "BF16": 457,
}
# Shard counts a source names (a file list, a config loading shard 1); the others follow the layout rule.
NAMED_SHARD_COUNTS = {"UD-Q2_K_XL": 3, "UD-IQ3_XXS": 3, "UD-Q4_K_M": 4, "UD-Q4_K_XL": 4, "UD-Q5_K_XL": 5}


@pytest.mark.parametrize("quant", sorted(DISPLAY_GB))
def test_display_sizes_become_the_quant_totals(quant: str) -> None:
    option = load_catalog_model("minimax-m2.7").option(quant)
    assert option.size_bytes == round(DISPLAY_GB[quant] * 10**9)
    assert _raw_quants()[quant]["size_basis"].startswith("published:")


@pytest.mark.parametrize("quant", sorted(set(DISPLAY_GB) - {"BF16", "UD-Q6_K_XL"}))
def test_shards_follow_the_observed_layout(quant: str) -> None:
    """A metadata-only shard 1, then shards of at most 50 GB, as many as that takes (BF16 is split otherwise)."""
    files = load_catalog_model("minimax-m2.7").option(quant).files
    assert files[0].size_bytes == METADATA_SHARD
    assert all(f.size_bytes <= 50 * 10**9 for f in files[1:])
    data = sum(f.size_bytes for f in files[1:])
    assert len(files) - 1 == -(-data // (50 * 10**9))  # no more shards than 50 GB pieces need
    if quant in NAMED_SHARD_COUNTS:
        assert len(files) == NAMED_SHARD_COUNTS[quant]


def test_q6_k_xl_keeps_the_shown_shard_sizes() -> None:
    sizes = [f.size_bytes for f in load_catalog_model("minimax-m2.7").option("UD-Q6_K_XL").files]
    assert sizes[:5] == [8_240_000, 49_000_000_000, 49_700_000_000, 49_700_000_000, 49_700_000_000]
    assert sum(sizes) == 207_000_000_000 and 0 < sizes[5] < 50 * 10**9


def test_q8_0_is_split_in_six_shards() -> None:
    option = load_catalog_model("minimax-m2.7").option("Q8_0")
    assert [f.path for f in option.files] == [f"Q8_0/MiniMax-M2.7-Q8_0-{k:05d}-of-00006.gguf" for k in range(1, 7)]


def test_planner_places_the_new_quant_on_a_two_gpu_machine(tmp_path: Path) -> None:
    """65.4 GB of UD-IQ2_XXS on 2x24 GB + 256 GiB: experts spill to RAM, the command names shard 1."""
    result = plan(load_catalog_model("minimax-m2.7"), two_gpu_machine(home=str(tmp_path)))
    by_quant = {o.quant: o for o in result.options}
    new = by_quant["UD-IQ2_XXS"]
    assert new.verdict is by_quant["UD-IQ1_M"].verdict is by_quant["UD-IQ2_M"].verdict
    assert new.placement.n_cpu_moe and new.size_bytes == 65_381_613_760
    assert "UD-IQ2_XXS/MiniMax-M2.7-UD-IQ2_XXS-00001-of-00003.gguf" in new.llama_cpp_command
