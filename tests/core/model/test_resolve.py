"""resolve_model: local .gguf files, Hub repos through the real client and the loopback Hub, catalog ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import GatedRepoError, GGUFFormatError, ModelNotFoundError, OfflineError, RepoNotFoundError
from advisor.model.facts import facts_from_headers
from advisor.model.gguf_reader import read_gguf_header
from advisor.model.resolve import resolve_model
from tests.fixtures.ggufs import GGUFSpec, truncate_to_header, write_gguf
from tests.fixtures.hubserver import HubServer

MOE = GGUFSpec(
    arch="minimax-m2",
    name="Tiny MiniMax",
    n_layers=4,
    n_embd=64,
    n_head=8,
    n_head_kv=2,
    head_dim=16,
    n_vocab=512,
    context_length=196608,
    experts=16,
    experts_used=4,
    expert_ff=32,
    license="other",
    license_name="modified-mit",
)


def _unsloth_like_repo(hub: HubServer, tmp_path: Path, **repo_kwargs):
    """Two quants in folders, split with a metadata-only first shard, plus an mmproj companion."""
    repo = hub.add_repo(
        "unsloth/Tiny-MiniMax-GGUF",
        card_data={"license": "other", "license_name": "modified-mit", "base_model": "MiniMaxAI/Tiny-MiniMax"},
        **repo_kwargs,
    )
    hub.add_repo("MiniMaxAI/Tiny-MiniMax", card_data={"license": "other", "license_name": "tiny-non-commercial"})
    for quant in ("UD-Q8_0", "BF16"):
        folder = tmp_path / quant
        folder.mkdir()
        for p in write_gguf(folder / f"Tiny-MiniMax-{quant}.gguf", MOE, split_max_tensors=20, small_first_shard=True):
            repo.add_file(f"{quant}/{p.name}", disk_path=p)
    repo.add_file("mmproj-F16.gguf", b"\0" * 1000)
    repo.add_file("README.md", b"# Tiny")
    return repo


def test_hub_repo_facts_options_and_licence(hub: HubServer, tmp_path: Path) -> None:
    repo = _unsloth_like_repo(hub, tmp_path)
    messages: list[str] = []
    model = resolve_model("unsloth/Tiny-MiniMax-GGUF", progress=messages.append)
    assert model.source == "hub" and model.repo == "unsloth/Tiny-MiniMax-GGUF" and model.revision == repo.sha
    f = model.facts
    local = facts_from_headers([read_gguf_header(p) for p in sorted((tmp_path / "UD-Q8_0").glob("*.gguf"))])
    assert f == local  # exactly what the files on disk say
    assert (f.architecture, f.block_count, f.context_length, f.expert_count, f.expert_used_count) == (
        "minimax-m2",
        4,
        196608,
        16,
        4,
    )
    assert f.head_count_kv == (2, 2, 2, 2) and f.key_length == 16
    assert [o.quant for o in model.options] == ["BF16", "UD-Q8_0"]  # equal sizes: by name
    sizes = {o.quant: o.size_bytes for o in model.options}
    assert sizes["BF16"] == sum(p.stat().st_size for p in (tmp_path / "BF16").glob("*.gguf"))
    read = [o for o in model.options if o.weights is not None]
    assert len(read) == 1 and read[0].quant == "BF16"  # the representative (smallest, then by name)
    assert read[0].weights.expert_bytes == 4 * 3 * 64 * 32 * 16 * 4  # f32 experts
    assert read[0].expert_tensor_types == ("f32",) and read[0].tensor_types == ("f32",)
    assert all(o.expert_tensor_types == () for o in model.options if o.weights is None)  # not read: unknown
    assert all(len(o.files) == 4 and o.files[0].path.endswith("-00001-of-00004.gguf") for o in model.options)
    assert all(o.files[0].sha256 and len(o.files[0].sha256) == 64 for o in model.options)
    assert model.options[0].companions[0].path == "mmproj-F16.gguf"
    lic = model.licence
    assert (lic.card_license_name, lic.base_model, lic.base_license) == (
        "modified-mit",
        "MiniMaxAI/Tiny-MiniMax",
        "tiny-non-commercial",
    )
    assert (lic.gguf_license, lic.gguf_license_name) == ("other", "modified-mit")
    assert any("header" in m for m in messages)
    # only ranges of the GGUF files were fetched, never a whole body without Range
    gguf_gets = [r for r in hub.requests if r[0] == "GET" and r[1].endswith(".gguf")]
    assert gguf_gets and all(rng for _m, _p, rng in gguf_gets)


def test_hub_quant_choice_reads_that_header(hub: HubServer, tmp_path: Path) -> None:
    _unsloth_like_repo(hub, tmp_path)
    model = resolve_model("unsloth/Tiny-MiniMax-GGUF", quant="ud-q8_0")
    assert [o.quant for o in model.options if o.weights is not None] == ["UD-Q8_0"]
    tagged = resolve_model("unsloth/Tiny-MiniMax-GGUF:UD-Q8_0")
    assert [o.quant for o in tagged.options if o.weights is not None] == ["UD-Q8_0"]
    with pytest.raises(ModelNotFoundError, match="no quantization 'Q2_K'"):
        resolve_model("unsloth/Tiny-MiniMax-GGUF", quant="Q2_K")


def test_reading_a_large_header_fetches_a_small_bound(hub: HubServer, tmp_path: Path) -> None:
    """150k-token vocab (~2.6 MB header) followed by ~38 MB of tensor data: only the header's ranges move."""
    spec = GGUFSpec(n_layers=1, n_embd=64, n_vocab=150_000, n_ff=64, tied_embeddings=True)
    (path,) = write_gguf(tmp_path / "Big-F32.gguf", spec)
    size = path.stat().st_size
    header = read_gguf_header(path)
    assert header.data_offset > 2_000_000 and size > 38_000_000
    hub.add_repo("org/Big-GGUF").add_file("Big-F32.gguf", disk_path=path)
    hub.reset_log()
    model = resolve_model("org/Big-GGUF")
    assert model.facts.vocab_size == 150_000
    assert model.options[0].size_bytes == size
    # 2 MB then 4 MB ranges (geometric growth): 6 MB asked for, counted on the redirect and the CDN request
    assert hub.body_bytes_for("Big-F32.gguf") <= 2 * 6 * 2**20
    assert hub.bytes_sent <= 6 * 2**20 < size / 6


def test_hub_errors_are_distinct(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RepoNotFoundError, match="no public repository"):
        resolve_model("org/missing")
    hub.add_repo("org/private", private=True)
    with pytest.raises(RepoNotFoundError, match="private"):
        resolve_model("org/private")
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(RepoNotFoundError, match="your token"):
        resolve_model("org/private")
    hub.add_repo("org/gated", gated=True)
    with pytest.raises(GatedRepoError) as gated:
        resolve_model("org/gated")
    assert gated.value.url.endswith("/org/gated")
    hub.add_repo("org/empty").add_file("README.md", b"hi")
    with pytest.raises(ModelNotFoundError, match="no complete GGUF"):
        resolve_model("org/empty")


def test_private_repo_with_a_valid_token(hub: HubServer, tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "P-Q8_0.gguf", GGUFSpec())
    hub.add_repo("org/private", private=True).add_file("P-Q8_0.gguf", disk_path=path)
    hub.valid_tokens.add("hf_good")
    assert resolve_model("org/private", token="hf_good").facts.block_count == 2


def test_no_network_and_offline_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OfflineError, match="Cannot reach"):  # HF_ENDPOINT points at a dead port
        resolve_model("org/anything")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OfflineError, match="switched off"):
        resolve_model("org/anything")


def test_local_whole_file(tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "Tiny-Q8_0.gguf", MOE)
    model = resolve_model(str(path))
    assert model.source == "local" and model.name == "Tiny MiniMax"
    (option,) = model.options
    assert option.quant == "Q8_0" and option.size_bytes == path.stat().st_size
    assert option.weights is not None and option.weights.total_bytes < option.size_bytes
    assert model.licence.gguf_license_name == "modified-mit"


def test_local_any_shard_finds_its_siblings(tmp_path: Path) -> None:
    paths = write_gguf(tmp_path / "Tiny-IQ1_M.gguf", MOE, split_max_tensors=20, small_first_shard=True)
    model = resolve_model(str(paths[2]))
    (option,) = model.options
    assert [Path(f.path).name for f in option.files] == [p.name for p in paths]
    assert option.size_bytes == sum(p.stat().st_size for p in paths)
    assert option.quant == "IQ1_M"
    paths[1].unlink()
    with pytest.raises(ModelNotFoundError, match=r"Tiny-IQ1_M-00002-of-00004\.gguf"):
        resolve_model(str(paths[0]))


def test_local_header_only_copy(tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "Whole.gguf", MOE)
    cut = truncate_to_header(path, tmp_path / "Cut-Q6_K.gguf")
    model = resolve_model(str(cut))
    assert model.options[0].size_bytes == path.stat().st_size
    assert model.facts == resolve_model(str(path)).facts
    assert any("only its header" in n for n in model.notes)


def test_bad_names_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no file"):
        resolve_model(str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelNotFoundError, match="not a catalog id"):
        resolve_model("no such thing!")
    text = tmp_path / "notes.gguf"
    text.write_text("hello, not a model")
    with pytest.raises(GGUFFormatError, match="not a GGUF"):
        resolve_model(str(text))


def test_catalog_ids_resolve_offline() -> None:
    from advisor.model.catalog import list_catalog, load_catalog_model

    for entry in list_catalog()[:3]:
        model = resolve_model(entry.id)  # HF_ENDPOINT points at a dead port: no network involved
        assert model.source == "catalog"
        assert model.facts == load_catalog_model(entry.id).facts
    assert resolve_model("MiniMax-M2.7").facts.block_count == 62  # ids are case-insensitive


def test_transient_range_failures_are_retried(hub: HubServer, tmp_path: Path, monkeypatch) -> None:
    from advisor.errors import HubError
    from advisor.model import hub as hub_module
    from tests.fixtures.hubserver import Fault

    monkeypatch.setattr(hub_module, "RANGE_RETRY_PAUSE_S", 0.01)
    (path,) = write_gguf(tmp_path / "T-Q8_0.gguf", MOE)
    hub.add_repo("org/T-GGUF").add_file("T-Q8_0.gguf", disk_path=path)
    hub.faults["T-Q8_0.gguf"] = Fault(statuses=[503], drop_at=[100])  # then a dropped connection
    assert resolve_model("org/T-GGUF").facts.expert_count == 16
    hub.faults["T-Q8_0.gguf"] = Fault(statuses=[503, 503, 503])
    with pytest.raises(HubError, match="503"):
        resolve_model("org/T-GGUF")


def test_base_model_licence_found_through_hub_tags(hub: HubServer, tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "T-Q4_K_M.gguf", MOE)
    hub.add_repo(
        "bartowski/T-GGUF",
        card_data={"license": "other", "license_name": "modified-mit"},
        tags=["gguf", "base_model:quantized:MiniMaxAI/T"],
    ).add_file("T-Q4_K_M.gguf", disk_path=path)
    hub.add_repo("MiniMaxAI/T", card_data={"license": "other", "license_name": "t-non-commercial"})
    lic = resolve_model("bartowski/T-GGUF").licence
    assert (lic.base_model, lic.base_license, lic.card_license_name) == (
        "MiniMaxAI/T",
        "t-non-commercial",
        "modified-mit",
    )


def test_unreadable_base_model_card_is_a_note(hub: HubServer, tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "T-Q4_K_M.gguf", MOE)
    hub.add_repo("org/T-GGUF", card_data={"license": "mit", "base_model": "gone/base"}).add_file(
        "T-Q4_K_M.gguf", disk_path=path
    )
    model = resolve_model("org/T-GGUF")
    assert model.licence.base_model == "gone/base" and model.licence.base_license is None
    assert any("gone/base" in n and "could not be read" in n for n in model.notes)


def test_a_file_gone_from_the_repo_is_a_hub_error(hub: HubServer) -> None:
    from advisor.errors import HubError
    from advisor.model import hub as hub_module

    hub.add_repo("org/x").add_file("README.md", b"x")
    with pytest.raises(HubError, match="missing on the Hub"):
        hub_module.range_reader("org/x", "gone.gguf").read(0, 100)


def test_a_server_that_ignores_range_is_read_only_as_far_as_needed(tmp_path: Path) -> None:
    """Python's SimpleHTTPRequestHandler answers Range with the whole file (200): we stop reading early."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from advisor.model import hub as hub_module

    (path,) = write_gguf(tmp_path / "Plain.gguf", GGUFSpec(n_vocab=20_000, n_embd=256, tied_embeddings=True))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = hub_module.range_reader("org/plain", "Plain.gguf")
        source.url = f"http://127.0.0.1:{server.server_address[1]}/Plain.gguf"
        header = read_gguf_header(source, first_fetch=64 * 1024)
    finally:
        server.shutdown()
        server.server_close()
    assert header.tensors == read_gguf_header(path).tensors
    assert source.size == path.stat().st_size
    assert source.bytes_fetched < path.stat().st_size
