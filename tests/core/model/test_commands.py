"""`rigfit facts` and `rigfit catalog-refresh` end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor import cli
from advisor.model.resolve import resolve_model, user_catalog_dir
from tests.fixtures.ggufs import GGUFSpec, write_gguf
from tests.fixtures.hubserver import HubServer

SPEC = GGUFSpec(
    arch="qwen3moe",
    name="Tiny Qwen MoE",
    n_layers=3,
    n_embd=64,
    n_head=4,
    n_head_kv=2,
    n_vocab=300,
    context_length=32768,
    experts=8,
    experts_used=2,
    expert_ff=32,
    leading_dense=1,
)


def test_facts_text_for_a_local_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (path,) = write_gguf(tmp_path / "Tiny-Q4_K_M.gguf", SPEC)
    assert cli.main(["facts", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Tiny Qwen MoE" in out
    assert "qwen3moe, 3 layers, hidden 64, vocab 300" in out
    assert "8 routed, 2 per token, FF 32, 1 leading dense blocks" in out
    # f16 KV per token: 3 layers x 2 heads x (16 + 16) x 2 B
    assert "KV cache f16   384 B/token" in out
    assert "Q4_K_M" in out and "32,768 tokens" in out


def test_facts_json_for_a_hub_repo(hub: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = hub.add_repo("org/Tiny-GGUF", card_data={"license": "apache-2.0"})
    for quant in ("Q8_0", "F16"):
        (p,) = write_gguf(tmp_path / f"Tiny-{quant}.gguf", SPEC)
        repo.add_file(p.name, disk_path=p)
    assert cli.main(["facts", "org/Tiny-GGUF", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == "rigfit.facts/1" and data["repo"] == "org/Tiny-GGUF"
    assert data["facts"]["expert_count"] == 8 and data["facts"]["tensors"] == len(resolve_model(str(p)).facts.tensors)
    assert data["kv_bytes_per_token_f16"] == 384
    assert data["kv_bytes_full_context_f16"] == 384 * 32768
    assert data["licence"]["card_license"] == "apache-2.0"
    assert sorted(o["quant"] for o in data["options"]) == ["F16", "Q8_0"]
    assert sum(o["weights"] is not None for o in data["options"]) == 1


def test_facts_error_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["facts", str(tmp_path / "missing.gguf")]) == 2
    err = capsys.readouterr().err
    assert "missing.gguf" in err and "Traceback" not in err


def test_catalog_refresh_writes_an_exact_entry(hub: HubServer, tmp_path: Path) -> None:
    repo = hub.add_repo("unsloth/Tiny-GGUF", card_data={"license": "apache-2.0", "base_model": "org/Tiny"})
    hub.add_repo("org/Tiny", card_data={"license": "apache-2.0"})
    for quant in ("UD-Q4_K_XL", "Q8_0"):
        folder = tmp_path / quant
        folder.mkdir()
        for p in write_gguf(folder / f"Tiny-{quant}.gguf", SPEC, split_max_tensors=15, small_first_shard=True):
            repo.add_file(f"{quant}/{p.name}", disk_path=p)
    assert cli.main(["catalog-refresh", "unsloth/Tiny-GGUF"]) == 0
    path = user_catalog_dir() / "tiny.json"
    entry = json.loads(path.read_text())
    assert entry["schema"] == "rigfit.catalog/1" and entry["id"] == "tiny" and entry["repo"] == "unsloth/Tiny-GGUF"
    assert entry["license"]["base_license"] == "apache-2.0" and entry["base_model"] == "org/Tiny"
    facts = resolve_model("unsloth/Tiny-GGUF").facts
    arch = entry["architecture"]
    assert (arch["block_count"], arch["head_count_kv"], arch["expert_count"]) == (3, 2, 8)
    assert (arch["total_params"], arch["active_params"]) == (facts.total_params, facts.active_params)
    for q in entry["quants"]:
        files = sorted((tmp_path / q["quant"]).glob("*.gguf"))
        assert [f["size_bytes"] for f in q["files"]] == [f.stat().st_size for f in files]
        assert q["size_bytes"] == sum(f.stat().st_size for f in files)
        classes = q["bytes_by_class"]
        assert (
            sum(classes[k] for k in ("token_embd", "output", "dense", "expert")) + q["header_bytes"] == q["size_bytes"]
        )
        assert 0 < q["header_bytes"] < 64 * 1024  # four small headers plus alignment padding
        assert classes["expert"] == 2 * 3 * 64 * 32 * 8 * 4  # two MoE layers of f32 experts
        assert all(len(f["sha256"]) == 64 for f in q["files"])


def test_refreshed_entry_loads_through_the_catalog(hub: HubServer, tmp_path: Path) -> None:
    from advisor.model import catalog

    repo = hub.add_repo("org/Tiny-GGUF", card_data={"license": "apache-2.0"})
    (p,) = write_gguf(tmp_path / "Tiny-Q8_0.gguf", SPEC)
    repo.add_file(p.name, disk_path=p)
    assert cli.main(["catalog-refresh", "org/Tiny-GGUF", "--id", "tiny-refreshed"]) == 0
    model = catalog.load_catalog_model("tiny-refreshed", directory=user_catalog_dir())
    direct = resolve_model("org/Tiny-GGUF")
    assert model.facts.total_params == direct.facts.total_params
    assert model.options[0].weights.expert_bytes == direct.options[0].weights.expert_bytes
    assert resolve_model("tiny-refreshed").source == "catalog"  # the user's entry is found by id


def test_refreshing_a_catalog_id_overrides_the_bundled_entry(hub: HubServer, tmp_path: Path) -> None:
    from advisor.model.catalog import load_catalog_model, raw_entry

    bundled = raw_entry("minimax-m2.7")
    repo = hub.add_repo(bundled["repo"], card_data={"license": "other", "license_name": "modified-mit"})
    (p,) = write_gguf(tmp_path / "MiniMax-M2.7-UD-IQ1_M.gguf", SPEC)
    repo.add_file(f"UD-IQ1_M/{p.name}", disk_path=p)
    assert cli.main(["catalog", "refresh", "minimax-m2.7"]) == 0
    entry = json.loads((user_catalog_dir() / "minimax-m2.7.json").read_text())
    assert (entry["id"], entry["name"], entry["order"]) == ("minimax-m2.7", bundled["name"], bundled["order"])
    assert [q["quant"] for q in entry["quants"]] == ["UD-IQ1_M"]
    model = resolve_model("minimax-m2.7")  # the user's refreshed entry wins over the bundled one
    assert model.facts.block_count == 3 and model.options[0].size_bytes == p.stat().st_size
    assert load_catalog_model("minimax-m2.7").facts.block_count == 62  # the bundled file is untouched
