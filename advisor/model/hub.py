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


# ==== Downloads: a file's bytes by HTTP Range (section owned by advisor/download; keep it separate) =========


class TransientHubError(Exception):
    """A failure worth retrying (5xx, 429, timeout, dropped connection); the downloader retries, users never see it."""


#: Statuses a download retries after a pause rather than giving up on.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FileStream:
    """One open GET of a file's bytes from ``start`` (or from 0 when the server ignored ``Range``).

    ``etag`` is the Hub's content identity: ``X-Linked-Etag`` of the ``/resolve/`` answer for LFS files (their
    sha256), else its ``ETag``; ``commit`` is ``X-Repo-Commit``. Both come from the redirect chain, since the CDN
    that serves the bytes knows neither.
    """

    def __init__(
        self,
        response,
        start: int,
        total_size: int | None,
        etag: str | None,
        commit: str | None,
        read_timeout_s: float | None = None,
    ):
        self._response = response
        self.start = start
        self.total_size = total_size
        self.etag = etag
        self.commit = commit
        self._read_timeout_s = read_timeout_s
        self._pending = b""  # bytes the client handed over that did not fit the caller's buffer yet
        self._source = None  # set on the first read
        self._raw = None

    def readinto(self, buffer: memoryview) -> int:
        """Fill the start of ``buffer`` with the next body bytes; return how many (0 at the end of the body).

        A dropped connection or a timeout is a ``TransientHubError``. The HTTP client parses every 64 KiB socket
        read as an HTTP event and returns each as a new ``bytes``; on a fast link that costs more CPU than hashing
        and writing together. For a plain fixed-length HTTP/1.1 body without TLS, once the client has handed over
        the bytes it had buffered with the headers, the rest is received straight into the caller's buffer from
        the connection's socket (the ``network_stream`` response extension), never past ``Content-Length``; the
        connection is then closed rather than reused. Anything else (TLS, chunked or compressed bodies, HTTP/2)
        stays on the client's own path, copied once into ``buffer``.
        """
        if self._source is None:
            self._source = self._open_source()
        if not self._pending:
            piece = self._source(buffer)
            if isinstance(piece, int):  # received in place
                return piece
            self._pending = piece
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _open_source(self):
        """A function that reads the next piece: into the buffer (returns a count) or as bytes (b"" at the end)."""
        import httpx2

        raw = self._raw = self._response.iter_raw()  # kept: a collected iterator closes the connection

        def from_client(_buffer: memoryview) -> bytes:
            try:
                return next((piece for piece in raw if piece), b"")  # an empty piece is not the end of the body
            except httpx2.TransportError as exc:
                raise TransientHubError(f"the connection broke: {exc or type(exc).__name__}") from exc

        headers = self._response.headers
        stream = self._response.extensions.get("network_stream")
        length_text = headers.get("Content-Length", "")
        direct = (
            length_text.isdigit()
            and "Transfer-Encoding" not in headers
            and headers.get("Content-Encoding", "identity") == "identity"
            and self._response.http_version == "HTTP/1.1"
            and stream is not None
            and stream.get_extra_info("ssl_object") is None
            and stream.get_extra_info("socket") is not None
        )
        if not direct:
            return from_client
        sock = stream.get_extra_info("socket")
        remaining = int(length_text)
        first = from_client(memoryview(b""))  # what the client read along with the headers
        sock.settimeout(self._read_timeout_s)  # once: nothing but the loop below reads this socket from now on
        remaining -= len(first)
        handed_first = False

        def from_socket(buffer: memoryview) -> bytes | int:
            nonlocal remaining, handed_first
            if not handed_first:
                handed_first = True
                if first:
                    return first
            if remaining <= 0:
                return b""
            try:
                count = sock.recv_into(buffer, min(len(buffer), remaining))
            except OSError as exc:  # timeouts and resets: the connection is gone either way
                raise TransientHubError(f"the connection broke: {exc or type(exc).__name__}") from exc
            if count == 0:
                raise TransientHubError("the connection closed before the whole body arrived")
            remaining -= count
            return count

        return from_socket


def _strip_etag(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"') or None


@contextmanager
def open_file_stream(
    repo_id: str,
    path: str,
    url: str,
    start: int = 0,
    *,
    explicit_token: str | None = None,
    timeout_s: float = 30.0,
) -> Iterator[FileStream | None]:
    """GET ``url`` from byte ``start`` on the Hub client's own HTTP client, following the CDN redirect.

    Yields ``None`` when the server answers 416 (``start`` is at or past the end: the file is complete or changed).
    Transient failures raise ``TransientHubError``; everything else becomes a ``RigfitError`` via ``hub_errors``.
    The bearer token goes to the Hub only: the HTTP client drops ``Authorization`` on a redirect to another host.
    """
    import httpx2
    from huggingface_hub import errors as hf_errors
    from huggingface_hub.utils import get_session, hf_raise_for_status

    headers = {**auth_headers(explicit_token), "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    session = get_session()
    timeout = httpx2.Timeout(timeout_s, connect=min(timeout_s, 15.0))
    with hub_errors(repo_id):
        try:
            request = session.build_request("GET", url, headers=headers, timeout=timeout)
            response = session.send(request, stream=True, follow_redirects=True)
        except hf_errors.OfflineModeIsEnabled:
            raise
        except (httpx2.TransportError, OSError) as exc:
            raise TransientHubError(f"cannot connect to {endpoint()}: {exc or type(exc).__name__}") from exc
    try:
        status = response.status_code
        if status == 416:
            yield None
            return
        if status >= 400:
            response.read()
            if status in TRANSIENT_STATUSES or status >= 500:
                raise TransientHubError(f"the Hub answered HTTP {status}")
            try:
                with hub_errors(repo_id):
                    hf_raise_for_status(response)
            except HubError as exc:
                if isinstance(exc.__cause__, hf_errors.RemoteEntryNotFoundError):
                    raise HubError(
                        f"{path} is not in {repo_id} (renamed or deleted on the Hub, or a wrong revision).",
                        hint="Look the model up again to get its current file list.",
                    ) from exc
                raise
            raise HubError(f"The Hub answered HTTP {status} for {repo_id}/{path}.", hint="Try again later.")
        chain = [*response.history, response]
        linked = [r.headers["X-Linked-Etag"] for r in chain if r.headers.get("X-Linked-Etag")]
        etag = _strip_etag(linked[0] if linked else chain[0].headers.get("ETag"))
        commit = next((r.headers["X-Repo-Commit"] for r in chain if r.headers.get("X-Repo-Commit")), None)
        body_start, total = 0, None
        if status == 206:
            content_range = response.headers.get("Content-Range", "")  # "bytes 100-199/1000"
            span, _, size_text = content_range.removeprefix("bytes ").partition("/")
            first = span.partition("-")[0]
            body_start = int(first) if first.isdigit() else start
            total = int(size_text) if size_text.isdigit() else None
        else:
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
        yield FileStream(response, body_start, total, etag, commit, read_timeout_s=timeout_s)
    finally:
        response.close()


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


REACHABLE_TIMEOUT_S = 10.0


def ensure_reachable() -> None:
    """Fail at once when the Hub's host cannot be reached at all (call it inside ``hub_errors``).

    The Hub client retries a refused or unresolvable connection with backoff for about half a minute before it
    gives up; one plain request first turns "no network" into a message within moments. Any HTTP answer, even an
    error status from a mirror's front page, counts as reachable: the real request then says what is wrong.
    """
    from huggingface_hub.utils import get_session

    get_session().head(endpoint(), timeout=REACHABLE_TIMEOUT_S, follow_redirects=False)


def list_files(repo_id: str, revision: str = "main", *, explicit_token: str | None = None) -> list[RepoFile]:
    """Every file of the repo, recursively, with its size and (for LFS files) sha256."""
    from huggingface_hub import RepoFile as HfRepoFile

    with hub_errors(repo_id):
        ensure_reachable()
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
