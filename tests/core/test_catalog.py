"""The bundled offline catalog: every file validates, facts match the issue, the CLI lists and shows it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from advisor import cli
from advisor.errors import ModelNotFoundError
from advisor.model.catalog import (
    MAX_HEADER_BYTES,
    CatalogError,
    UnknownCatalogModelError,
    build_weight_map,
    catalog_dir,
    list_catalog,
    load_catalog_model,
)

CATALOG = catalog_dir()
FILES = sorted(CATALOG.glob("*.json"))
IDS = [p.stem for p in FILES]
GB = 10**9


def _raw(model_id: str) -> dict:
    return json.loads((CATALOG / f"{model_id}.json").read_text())


def test_catalog_has_minimax_first_and_a_dozen_more() -> None:
    entries = list_catalog()
    assert entries[0].id == "minimax-m2.7"
    assert len(entries) >= 13
    assert [e.order for e in entries] == sorted(e.order for e in entries)
    kinds = {e.is_moe for e in entries}
    assert kinds == {True, False}
    assert min(e.total_params for e in entries) < 2 * GB < 70 * GB < max(e.total_params for e in entries)


@pytest.mark.parametrize("model_id", IDS)
def test_every_entry_loads_into_the_shared_types(model_id: str) -> None:
    model = load_catalog_model(model_id)
    raw = _raw(model_id)
    assert model.source == "catalog" and model.id == model_id and model.repo == raw["repo"]
    facts = model.facts
    assert len(facts.head_count) == len(facts.head_count_kv) == facts.block_count
    assert all(i < facts.block_count for i in facts.swa_layers)
    assert model.options, "at least one quant"
    assert [o.size_bytes for o in model.options] == sorted(o.size_bytes for o in model.options)
    for opt, q in zip(model.options, sorted(raw["quants"], key=lambda q: q["size_bytes"]), strict=True):
        assert opt.size_bytes == sum(f.size_bytes for f in opt.files)
        assert all(f.path.endswith(".gguf") for f in opt.files)
        assert opt.weights is not None and len(opt.weights.layers) == facts.block_count
        # classes sum to the file size less the header allowance, exactly, after spreading over layers
        assert opt.weights.total_bytes == opt.size_bytes - q["header_bytes"]
        assert 0 < q["header_bytes"] <= MAX_HEADER_BYTES
        if not facts.is_moe:
            assert opt.weights.expert_bytes == 0
        else:
            lead = facts.leading_dense_block_count
            assert all(layer.expert_bytes == 0 for layer in opt.weights.layers[:lead])
            assert all(layer.expert_bytes > 0 for layer in opt.weights.layers[lead:])
            # routed experts dominate every MoE here
            assert opt.weights.expert_bytes > opt.size_bytes / 2


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_number_has_a_source(path: Path) -> None:
    """Each object holding a number carries a ``source`` or ``basis`` itself or inherits one from its parent."""

    def walk(node: object, where: str, covered: bool) -> None:
        if isinstance(node, dict):
            here = covered or any(isinstance(node.get(k), str) and node[k].strip() for k in ("source", "basis"))
            for key, value in node.items():
                if isinstance(value, int | float) and not isinstance(value, bool) and key != "order":
                    assert here, f"{path.name}: {where}.{key} = {value} has no source"
                walk(value, f"{where}.{key}", here)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]", covered)

    data = json.loads(path.read_text())
    walk(data, "$", False)
    assert data["architecture"]["source"].startswith("http")
    for q in data["quants"]:
        assert "http" in q["source"]
        assert all(f["source"] for f in q["files"])


def test_minimax_facts_match_the_issue() -> None:
    model = load_catalog_model("MiniMax-M2.7")  # ids are case-insensitive
    f = model.facts
    assert (f.architecture, f.block_count, f.embedding_length) == ("minimax-m2", 62, 3072)
    assert set(f.head_count) == {48} and set(f.head_count_kv) == {8}
    assert f.key_length == f.value_length == 128
    assert (f.expert_count, f.expert_used_count, f.expert_feed_forward_length) == (256, 8, 1536)
    assert f.expert_shared_count == 0 and f.leading_dense_block_count == 0
    assert f.vocab_size == 200064 and f.context_length == 196608
    assert f.sliding_window is None and f.swa_layers == ()
    assert abs(f.total_params - 228.69e9) < 0.01e9
    assert abs(f.active_params - 10.4e9) < 0.1e9
    sizes = {o.quant: o.size_bytes for o in model.options}
    assert sizes["UD-IQ1_M"] == 60_700_000_000
    assert sizes["UD-Q4_K_M"] == 140_000_000_000
    assert sizes["UD-Q6_K_XL"] == 207_000_000_000
    assert sizes["BF16"] == 457_000_000_000
    assert sizes["UD-IQ3_XXS"] == 80_100_000_000
    assert abs(sizes["UD-IQ3_S"] - 77.86 * 2**30) < 2**20
    assert model.option("ud-q4_k_m").files[0].path == "UD-Q4_K_M/MiniMax-M2.7-UD-Q4_K_M-00001-of-00004.gguf"
    assert len(model.option("UD-IQ3_S").files) == 3
    # the CUDA 13.2 rule needs these: an IQ3_S file holds iq3_s and iq2_s tensors
    assert {"iq3_s", "iq2_s"} <= set(model.option("UD-IQ3_S").tensor_types)
    assert model.option("UD-Q4_K_M").tensor_types == ()  # unknown, not guessed
    assert model.licence.card_license_name == "modified-mit"
    assert model.licence.base_license == "minimax-m2.7"  # the id the licence knowledge base resolves


def test_minimax_kv_cache_per_token_from_the_facts() -> None:
    f = load_catalog_model("minimax-m2.7").facts
    f16 = 2
    per_token = sum(kv * (f.key_length + f.value_length) * f16 for kv in f.head_count_kv)
    assert per_token == 253_952


def test_mla_and_sliding_window_facts() -> None:
    mla = load_catalog_model("deepseek-r1-0528").facts
    assert (mla.kv_lora_rank, mla.key_length_mla, mla.value_length_mla) == (512, 192, 128)
    assert set(mla.head_count_kv) == {1} and mla.key_length == 576
    assert mla.leading_dense_block_count == 3 and mla.expert_shared_count == 1
    old = load_catalog_model("deepseek-r1").facts
    assert old.key_length_mla is None and set(old.head_count_kv) == {128}
    gemma = load_catalog_model("gemma-3-27b-it").facts
    assert gemma.sliding_window == 1024
    assert len(gemma.swa_layers) == 62 - 62 // 6 and 5 not in gemma.swa_layers and 0 in gemma.swa_layers
    assert gemma.tied_embeddings and not load_catalog_model("llama-3.1-8b-instruct").facts.tied_embeddings
    oss = load_catalog_model("gpt-oss-20b").facts
    assert oss.sliding_window == 128 and oss.swa_layers == tuple(range(0, 24, 2))


def test_leading_dense_blocks_get_their_own_dense_bytes() -> None:
    model = load_catalog_model("glm-4.5-air")
    raw = next(q for q in _raw("glm-4.5-air")["quants"] if q["quant"] == "Q4_K_M")
    layers = model.option("Q4_K_M").weights.layers
    assert layers[0].expert_bytes == 0
    assert layers[0].dense_bytes == raw["bytes_by_class"]["dense_leading"]
    assert layers[0].dense_bytes > layers[1].dense_bytes  # a dense FFN outweighs attention + shared expert


def test_weight_map_spreads_exactly() -> None:
    facts = load_catalog_model("deepseek-r1").facts
    classes = {"token_embd": 7, "output": 11, "dense": 1001, "expert": 5803}  # no dense_leading recorded
    wm = build_weight_map(classes, facts)
    assert wm.total_bytes == sum(classes.values())
    assert [layer.expert_bytes for layer in wm.layers[:3]] == [0, 0, 0]
    assert max(layer.expert_bytes for layer in wm.layers[3:]) - min(layer.expert_bytes for layer in wm.layers[3:]) <= 1


def test_unknown_id_names_near_matches() -> None:
    with pytest.raises(UnknownCatalogModelError) as exc:
        load_catalog_model("minimax-m27")
    assert isinstance(exc.value, ModelNotFoundError)
    assert "minimax-m2.7" in (exc.value.hint or "")
    with pytest.raises(UnknownCatalogModelError) as exc:
        load_catalog_model("qwen3")
    assert "qwen3-" in (exc.value.hint or "")


# --------------------------------------------------------------------------------------------------------------
# Validation of broken files


@pytest.fixture
def scratch_catalog(tmp_path: Path) -> Path:
    shutil.copy(CATALOG / "llama-3.2-1b-instruct.json", tmp_path)
    return tmp_path


def _mutate(folder: Path, change) -> None:
    path = folder / "llama-3.2-1b-instruct.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_copy_of_a_good_file_loads(scratch_catalog: Path) -> None:
    assert [e.id for e in list_catalog(scratch_catalog)] == ["llama-3.2-1b-instruct"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d.pop("repo"), "$.repo", "missing"),
        (lambda d: d["architecture"].update(block_count="16"), "$.architecture.block_count", "must be int"),
        (lambda d: d["architecture"].update(head_count_kv=[8, 8]), "$.architecture.head_count_kv", "per layer"),
        (lambda d: d["quants"][0]["bytes_by_class"].update(dense=1), "$.quants[0].bytes_by_class", "adds up"),
        (lambda d: d["quants"][0].update(size_bytes=5), "$.quants[0].size_bytes", "files add up"),
        (lambda d: d["quants"][0]["files"][0].update(sha256="xyz"), "$.quants[0].files[0].sha256", "hex"),
        (lambda d: d["quants"][0].update(tensor_types=["q4_k", "q9_z"]), "$.quants[0].tensor_types", "q9_z"),
        (lambda d: d["quants"][0]["files"][0].update(path="../x.gguf"), "$.quants[0].files[0].path", "relative"),
        (lambda d: d["quants"][0].pop("source"), "$.quants[0].source", "missing"),
        (lambda d: d["quants"][0].update(expert_tensor_types=["q2_k"]), "$.quants[0].expert_tensor_types", "subset"),
        (
            lambda d: d["quants"][0]["bytes_by_class"].update(
                expert=5, dense=d["quants"][0]["bytes_by_class"]["dense"] - 5
            ),
            "$.quants[0].bytes_by_class.expert",
            "without experts",
        ),
        (lambda d: d.update(id="other"), "$.id", "named llama-3.2-1b-instruct.json"),
        (lambda d: d.update(schema="rigfit.catalog/2"), "$.schema", "rigfit.catalog/1"),
    ],
)
def test_broken_file_gives_one_clear_error(scratch_catalog: Path, change, field: str, words: str) -> None:
    _mutate(scratch_catalog, change)
    with pytest.raises(CatalogError) as exc:
        list_catalog(scratch_catalog)
    message = str(exc.value)
    assert "llama-3.2-1b-instruct.json" in message and field in message and words in message


def test_invalid_json_names_the_file_and_line(scratch_catalog: Path) -> None:
    (scratch_catalog / "broken.json").write_text('{"schema": "rigfit.catalog/1",\n  "id": }')
    with pytest.raises(CatalogError, match=r"broken\.json is not valid JSON \(line 2"):
        list_catalog(scratch_catalog)


def test_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="missing"):
        list_catalog(tmp_path / "nowhere")


# --------------------------------------------------------------------------------------------------------------
# CLI


def test_cli_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "NAME", "PARAMS", "QUANTS", "SIZE"]
    assert out[1].startswith("minimax-m2.7") and "229B (10.4B active)" in out[1]
    assert "60.7 GB - 457 GB" in out[1] and " 23 " in out[1]
    assert any(line.startswith("llama-3.2-1b-instruct") and "743 MB - 1.3 GB" in line for line in out)
    assert f"{len(IDS)} models" in "\n".join(out)


def test_cli_lists_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == "minimax-m2.7" and len(rows) == len(IDS)
    assert rows[0]["min_size_bytes"] == 60_700_000_000 and rows[0]["max_size_bytes"] == 457_000_000_000


def test_cli_shows_one_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "show", "minimax-m2.7"]) == 0
    out = capsys.readouterr().out
    assert "unsloth/MiniMax-M2.7-GGUF" in out and "non-commercial" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "140 GB" in lines["UD-Q4_K_M"] and " 4 " in lines["UD-Q4_K_M"]
    assert "60.7 GB" in lines["UD-IQ1_M"] and "457 GB" in lines["BF16"]
    assert "iq3_s" in lines["UD-IQ3_S"] and not lines["UD-IQ3_S"].endswith("*")  # observed in a load log
    assert lines["UD-Q4_K_M"].endswith("unknown")  # no source shows its types: none are claimed
    assert lines["Q8_0"].endswith("f32, q8_0 *")  # llama.cpp's Q8_0 rule


def test_cli_show_json_is_the_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "--json", "show", "qwen3-8b"]) == 0
    assert json.loads(capsys.readouterr().out) == _raw("qwen3-8b")
    assert cli.main(["catalog", "show", "gpt-oss-20b", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "gpt-oss-20b"


def test_cli_unknown_model_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "show", "gemma-3-27b"]) == 2
    err = capsys.readouterr().err
    assert "not in the offline catalog" in err and "gemma-3-27b-it" in err and "Traceback" not in err


# --------------------------------------------------------------------------------------------------------------
# The derivation script: its arithmetic is what "basis: derived" points at


def _build_tool():
    import importlib.util

    path = CATALOG / "tools" / "build_catalog.py"
    spec = importlib.util.spec_from_file_location("rigfit_build_catalog", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_script_rebuilds_the_committed_files(tmp_path: Path) -> None:
    _build_tool().main(tmp_path, verbose=False)
    built = sorted(p.name for p in tmp_path.glob("*.json"))
    assert built == [p.name for p in FILES]
    for name in built:
        assert json.loads((tmp_path / name).read_text()) == json.loads((CATALOG / name).read_text()), name


def test_recipe_reproduces_exact_llama_file_sizes() -> None:
    """Tensor bytes from llama.cpp's Q4_K_M rules + the header allowance bracket real Q4_K_M files."""
    tool = _build_tool()
    archs = {
        "llama-3.1-8b": tool.Arch("llama", 32, 131072, 4096, 32, 8, 128, 128256, ff=14336),
        "llama-3.2-1b": tool.Arch("llama", 16, 131072, 2048, 32, 8, 64, 128256, ff=8192, tied=True),
        "llama-3.2-3b": tool.Arch("llama", 28, 131072, 3072, 24, 8, 128, 128256, ff=8192, tied=True),
    }
    for key, real_size, source in tool.LLAMA_HEADER_CHECKS:
        by, _, _ = tool.class_bytes(archs[key], "Q4_K_M", None)
        weights = by["token_embd"] + by["output"] + by["dense"] + by["expert"]
        header = real_size - weights
        assert 7_000_000 < header <= tool.header_estimate(archs[key]), (key, header, source)


def test_expert_tensor_types_reach_the_option_when_the_field_exists() -> None:
    from advisor.model.types import QuantOption

    if "expert_tensor_types" not in QuantOption.__dataclass_fields__:
        pytest.skip("QuantOption.expert_tensor_types arrives with the risk rules' branch")
    minimax = load_catalog_model("minimax-m2.7")
    assert minimax.option("UD-IQ3_S").expert_tensor_types == ("iq2_s", "iq3_s")
    assert minimax.option("UD-Q4_K_M").expert_tensor_types == ()
    assert load_catalog_model("gpt-oss-20b").option("Q4_K_M").expert_tensor_types == ("mxfp4",)
