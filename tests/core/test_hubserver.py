"""The loopback Hub must speak the protocol the real ``huggingface_hub`` client expects."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from tests.fixtures.hubserver import Fault, HubServer


@pytest.fixture
def repo(hub: HubServer):
    r = hub.add_repo("org/model-GGUF", card_data={"license": "mit", "base_model": "org/model"})
    r.add_file("README.md", b"# card\n")
    r.add_file("Q4_K_M/model-Q4_K_M-00001-of-00002.gguf", b"GGUF" + b"\x01" * 5000)
    r.add_file("Q4_K_M/model-Q4_K_M-00002-of-00002.gguf", b"GGUF" + b"\x02" * 3000)
    return r


def test_model_info_and_recursive_tree(hub: HubServer, repo) -> None:
    api = HfApi(endpoint=hub.endpoint)
    info = api.model_info("org/model-GGUF", expand=["cardData", "sha"])
    assert info.card_data is not None and info.card_data.license == "mit"
    assert info.sha == repo.sha
    files = {f.path: f for f in api.list_repo_tree("org/model-GGUF", recursive=True) if hasattr(f, "size")}
    shard = files["Q4_K_M/model-Q4_K_M-00001-of-00002.gguf"]
    assert shard.size == 5004
    assert shard.lfs is not None
    assert shard.lfs.sha256 == hashlib.sha256(b"GGUF" + b"\x01" * 5000).hexdigest()


def test_download_follows_lfs_redirect(hub: HubServer, repo, tmp_path) -> None:
    path = hf_hub_download(
        "org/model-GGUF", "Q4_K_M/model-Q4_K_M-00002-of-00002.gguf", endpoint=hub.endpoint, local_dir=tmp_path
    )
    assert Path(path).read_bytes() == b"GGUF" + b"\x02" * 3000
    assert any(p.startswith("/cdn/") for _m, p, _r in hub.requests)


def test_errors_map_to_hub_exceptions(hub: HubServer, repo) -> None:
    api = HfApi(endpoint=hub.endpoint)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/missing")
    hub.add_repo("org/gated", gated=True)
    with pytest.raises(GatedRepoError):
        api.model_info("org/gated")
    hub.valid_tokens.add("hf_good")
    assert HfApi(endpoint=hub.endpoint, token="hf_good").model_info("org/gated").id == "org/gated"


def test_range_and_injected_faults(hub: HubServer, repo) -> None:
    import httpx2

    url = f"{hub.cdn_endpoint}/cdn/org/model-GGUF/{repo.files['README.md'].sha256}/README.md"
    hub.faults["README.md"] = Fault(statuses=[503])
    with httpx2.Client() as client:
        assert client.get(url).status_code == 503
        r = client.get(url, headers={"Range": "bytes=2-4"})
        assert r.status_code == 206
        assert r.content == b"car"
        assert r.headers["Content-Range"] == "bytes 2-4/7"
