"""Every call to the Hugging Face Hub goes through this module.

Auth and routing come from ``huggingface_hub``: ``HF_ENDPOINT`` mirrors, ``HF_TOKEN`` and the user's
``hf auth login``. The endpoint is read at call time (the library reads it once at import), so a mirror set
later, or a test's loopback Hub, is honoured. Hub errors become ``RigfitError``s a user can act on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from advisor.errors import GatedRepoError, HubError, OfflineError, RepoNotFoundError

DEFAULT_ENDPOINT = "https://huggingface.co"


def endpoint() -> str:
    """The Hub base URL in force now (``HF_ENDPOINT`` or huggingface.co)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def token(explicit: str | None = None) -> str | None:
    """The token to send: one given by the app's settings, else ``HF_TOKEN`` or the Hub's stored login."""
    if explicit:
        return explicit
    from huggingface_hub import get_token

    return get_token()


def api(explicit_token: str | None = None):  # -> huggingface_hub.HfApi (imported lazily: start-up time)
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token(explicit_token) or False)


def file_url(repo_id: str, path: str, revision: str = "main") -> str:
    """The ``/resolve/`` URL of a file, built by the Hub client so mirrors and quoting match it."""
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo_id, path, revision=revision, endpoint=endpoint())


def auth_headers(explicit_token: str | None = None) -> dict[str, str]:
    """Headers the Hub client itself would send (user agent, bearer token)."""
    from huggingface_hub.utils import build_hf_headers

    return build_hf_headers(token=token(explicit_token) or False)


def gated_url(repo_id: str) -> str:
    """Where the user accepts a gated repo's terms."""
    return f"{endpoint()}/{repo_id}"


@contextmanager
def hub_errors(repo_id: str) -> Iterator[None]:
    """Turn the Hub client's exceptions into messages a user can act on."""
    from huggingface_hub import errors as hf_errors

    try:
        yield
    except hf_errors.GatedRepoError as exc:
        raise GatedRepoError(
            f"{repo_id} is gated: its owners require you to accept their terms before downloading.",
            url=gated_url(repo_id),
            hint=f"Open {gated_url(repo_id)}, accept the terms, and set a Hub token (HF_TOKEN or `hf auth login`).",
        ) from exc
    except hf_errors.RepositoryNotFoundError as exc:
        raise RepoNotFoundError(
            f"The Hub has no repository {repo_id!r} (or it is private and your token cannot see it).",
            hint="Check the spelling (owner/name), or log in with a token that has access.",
        ) from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise HubError(f"{repo_id} has no such revision.", hint="Use 'main' or an existing commit.") from exc
    except hf_errors.OfflineModeIsEnabled as exc:
        raise OfflineError(
            "Hub access is switched off (HF_HUB_OFFLINE is set).",
            hint="Unset HF_HUB_OFFLINE, or pick a model from the bundled catalog.",
        ) from exc
    except hf_errors.HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise HubError(f"The Hub answered HTTP {status} for {repo_id}.", hint="Try again later.") from exc
    except OSError as exc:  # connection refused, DNS failure, timeouts (httpx errors are OSErrors)
        raise OfflineError(
            f"Cannot reach the Hub at {endpoint()}: {exc}",
            hint="Check your connection or HF_ENDPOINT; the bundled catalog works offline.",
        ) from exc
    except Exception as exc:
        import httpx2

        if isinstance(exc, httpx2.TransportError):
            raise OfflineError(
                f"Cannot reach the Hub at {endpoint()}: {exc}",
                hint="Check your connection or HF_ENDPOINT; the bundled catalog works offline.",
            ) from exc
        raise
