"""Hub failures reach the user as distinct, actionable errors."""

from __future__ import annotations

import pytest

from advisor.errors import GatedRepoError, OfflineError, RepoNotFoundError
from advisor.model import hub
from tests.fixtures.hubserver import HubServer


def test_missing_repo(hub: HubServer) -> None:
    with pytest.raises(RepoNotFoundError, match="org/none"), hub_errors_for("org/none"):
        hub_api_info("org/none")


def test_gated_repo_names_the_page_to_accept(hub: HubServer) -> None:
    hub.add_repo("org/gated", gated=True)
    with pytest.raises(GatedRepoError) as info, hub_errors_for("org/gated"):
        hub_api_info("org/gated")
    assert info.value.url == f"{hub.endpoint}/org/gated"


def test_unreachable_hub_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(OfflineError), hub_errors_for("org/any"):
        hub_api_info("org/any")


def test_token_from_environment_is_sent(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add_repo("org/gated", gated=True)
    hub.valid_tokens.add("hf_secret")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert hub_api_info("org/gated").id == "org/gated"


def hub_errors_for(repo_id: str):
    return hub.hub_errors(repo_id)


def hub_api_info(repo_id: str):
    return hub.api().model_info(repo_id, timeout=5)
