"""Every call to the Hugging Face Hub goes through this module.

Auth and routing come from ``huggingface_hub``: ``HF_ENDPOINT`` mirrors, ``HF_TOKEN`` and the user's
``hf auth login``. The endpoint is read at call time (the library reads it once at import), so a mirror set
later, or a test's loopback Hub, is honoured. Hub errors become ``RigfitError``s a user can act on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from advisor.errors import GatedRepoError, HubError, OfflineError, RepoNotFoundError
from advisor.model.types import RepoFile

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
        if _sent_token():
            raise RepoNotFoundError(
                f"The Hub has no repository {repo_id!r} that your token can see (it does not exist, or it is "
                "private and your account has no access).",
                hint="Check the spelling (owner/name), or use a token of an account that can see the repo.",
            ) from exc
        raise RepoNotFoundError(
            f"The Hub has no public repository {repo_id!r} (it does not exist, or it is private).",
            hint="Check the spelling (owner/name); for a private repo set a Hub token (HF_TOKEN or `hf auth login`).",
        ) from exc
    except hf_errors.RemoteEntryNotFoundError as exc:
        raise HubError(
            f"A file of {repo_id} is missing on the Hub (it was renamed or deleted).",
            hint="Refresh the repository's file list and try again.",
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


def _sent_token() -> bool:
    try:
        return bool(token())
    except Exception:  # a broken token store must not hide the real error
        return False


# -- repository listing, cards and byte ranges ---------------------------------------------------------------


def list_files(repo_id: str, revision: str = "main", *, explicit_token: str | None = None) -> list[RepoFile]:
    """Every file of the repo, recursively, with its size and (for LFS files) sha256."""
    from huggingface_hub import RepoFile as HfRepoFile

    with hub_errors(repo_id):
        items = list(api(explicit_token).list_repo_tree(repo_id, recursive=True, revision=revision))
    files = []
    for item in items:
        if isinstance(item, HfRepoFile):
            sha = item.lfs.sha256 if item.lfs is not None else None
            files.append(RepoFile(path=item.path, size_bytes=int(item.size), sha256=sha))
    return sorted(files, key=lambda f: f.path)


def model_card(repo_id: str, revision: str | None = None, *, explicit_token: str | None = None) -> dict[str, Any]:
    """The repo card's metadata (``license``, ``license_name``, ``license_link``, ``base_model`` ...), plus the
    commit it was read at (``_sha``) and the repo's tags (``_tags``)."""
    with hub_errors(repo_id):
        info = api(explicit_token).model_info(repo_id, revision=revision, expand=["cardData", "gated", "sha", "tags"])
    card = info.card_data
    data: dict[str, Any] = dict(card.to_dict()) if card is not None else {}
    data["_sha"] = info.sha
    data["_tags"] = list(info.tags or [])
    return data


class HttpRangeSource:
    """A remote file read by HTTP ``Range`` requests (a ``gguf_reader.ByteSource``).

    The ``/resolve/`` URL redirects LFS files to a CDN; the client follows the redirect. Each ``read`` is
    one request, so a header reader asks for a small range first and larger ones only when it must.
    """

    def __init__(self, repo_id: str, path: str, revision: str = "main", *, explicit_token: str | None = None):
        self.repo_id = repo_id
        self.path = path
        self.name = f"{repo_id}/{path}"
        self.url = file_url(repo_id, path, revision)
        self._headers = auth_headers(explicit_token)
        self._size: int | None = None
        self.bytes_fetched = 0

    @property
    def size(self) -> int | None:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        """Bytes [offset, offset + length); transient failures (5xx, 429, dropped connections) are retried."""
        if length <= 0 or (self._size is not None and offset >= self._size):
            return b""
        with hub_errors(self.repo_id):
            for attempt in range(RANGE_ATTEMPTS):
                try:
                    data = self._read_once(offset, length)
                    break
                except Exception as exc:
                    if attempt + 1 >= RANGE_ATTEMPTS or not _is_transient(exc):
                        raise
                    time.sleep(RANGE_RETRY_PAUSE_S * (attempt + 1))
        self.bytes_fetched += len(data)
        return data

    def _read_once(self, offset: int, length: int) -> bytes:
        from huggingface_hub.utils import get_session, hf_raise_for_status

        headers = {**self._headers, "Range": f"bytes={offset}-{offset + length - 1}"}
        with get_session().stream("GET", self.url, headers=headers, follow_redirects=True, timeout=30) as response:
            if response.status_code == 416:
                return b""
            if response.status_code >= 400:
                response.read()
                hf_raise_for_status(response)
            if response.status_code == 206:
                data = response.read()
                total = response.headers.get("Content-Range", "").rpartition("/")[2]
                if total.isdigit():
                    self._size = int(total)
                return data[:length]
            # The server ignored Range: take what we need from the start, never the whole file.
            length_header = response.headers.get("Content-Length", "")
            if length_header.isdigit():
                self._size = int(length_header)
            buf = bytearray()
            for chunk in response.iter_bytes():
                buf += chunk
                if len(buf) >= offset + length:
                    break
            return bytes(buf[offset : offset + length])


RANGE_ATTEMPTS = 3
RANGE_RETRY_PAUSE_S = 0.5


def _is_transient(exc: Exception) -> bool:
    import httpx2
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, httpx2.TransportError):
        return True
    if isinstance(exc, hf_errors.HfHubHTTPError) and exc.response is not None:
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return False


def range_reader(
    repo_id: str, path: str, revision: str = "main", *, explicit_token: str | None = None
) -> HttpRangeSource:
    """A byte source for one repo file, for reading its GGUF header without downloading it."""
    return HttpRangeSource(repo_id, path, revision, explicit_token=explicit_token)
