"""A streaming GGUF (v2/v3) header reader: metadata key/values and tensor infos, nothing else.

``gguf.GGUFReader`` memory-maps the whole file, so it cannot read a header fetched by HTTP ``Range`` or a
file cut off after its header. This reader pulls bytes from a ``ByteSource`` only as far as the header
goes: a local file, a truncated copy, or a remote file read in geometrically growing ranges.

Every length field is checked against the bytes that can still exist (and against sane caps) *before*
anything is read or allocated, so a lying header costs no memory; every malformation raises
``GGUFFormatError``. Type tables (value types, ggml quant block sizes) come from the ``gguf`` package.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gguf import GGML_QUANT_SIZES, GGUF_MAGIC, GGMLQuantizationType, GGUFValueType

from advisor.errors import GGUFFormatError
from advisor.model.types import TensorInfo

#: Largest header we accept. MiniMax's is several MB (200K tokens + 200K merges); 256 MiB is far beyond
#: any real model and still bounded.
MAX_HEADER_BYTES = 256 * 1024 * 1024
#: Longest single string (chat templates run to tens of KB; nothing real is near this).
MAX_STRING_BYTES = 16 * 1024 * 1024
#: Arrays longer than this keep only their count (token lists, merges); facts never need their contents.
KEEP_ARRAY_VALUES_UP_TO = 4096
MAX_TENSOR_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME_BYTES = 256  # llama.cpp's limit is 64 (GGML_MAX_NAME); be lenient but bounded
DEFAULT_ALIGNMENT = 32
MAX_ARRAY_NESTING = 2

_SCALAR_FORMATS: dict[int, str] = {
    GGUFValueType.UINT8: "B",
    GGUFValueType.INT8: "b",
    GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I",
    GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q",
    GGUFValueType.FLOAT64: "d",
}

_SHARD_RE = re.compile(r"^(?P<prefix>.*)-(?P<shard>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


# -- byte sources ------------------------------------------------------------------------------------------


class ByteSource(Protocol):
    """Random access to a file's bytes; ``size`` is the file's full size when known (None otherwise)."""

    name: str

    @property
    def size(self) -> int | None: ...

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; fewer only at the end of the file."""
        ...


class LocalFileSource:
    """A file on disk (whole, or truncated right after its header)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        try:
            self._size = self.path.stat().st_size
        except OSError as exc:
            raise GGUFFormatError(f"Cannot read {self.path}: {exc.strerror or exc}.") from exc

    @property
    def size(self) -> int | None:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)


class BytesSource:
    """Bytes in memory (tests, fuzzing, a header already fetched)."""

    def __init__(self, data: bytes, name: str = "<bytes>") -> None:
        self._data = data
        self.name = name

    @property
    def size(self) -> int | None:
        return len(self._data)

    def read(self, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]


# -- parsed header ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GGUFArray:
    """A metadata array: its element type and length, with values only for short arrays."""

    element_type: int
    count: int
    values: tuple[Any, ...] | None = None  # None when longer than KEEP_ARRAY_VALUES_UP_TO


@dataclass(frozen=True)
class GGUFHeader:
    """One GGUF file's header. ``tensors`` carry their shard number (``split.no`` + 1)."""

    source_name: str
    version: int
    byte_order: str  # "little" or "big"
    metadata: dict[str, Any] = field(repr=False)
    tensors: tuple[TensorInfo, ...] = field(repr=False)
    tensor_offsets: tuple[int, ...] = field(repr=False)  # relative to data_offset, same order as tensors
    alignment: int = DEFAULT_ALIGNMENT
    data_offset: int = 0  # where tensor data starts (= header length, padded)
    file_size: int | None = None  # the source's size (a truncated copy is smaller than expected_file_size)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def split_no(self) -> int:
        """0-based shard index (0 for an unsplit file)."""
        value = self.metadata.get("split.no", 0)
        return value if isinstance(value, int) else 0

    @property
    def split_count(self) -> int:
        value = self.metadata.get("split.count", 1)
        return value if isinstance(value, int) and value > 0 else 1

    @property
    def tensor_data_bytes(self) -> int:
        """Bytes of tensor data the file declares: up to the end of its last tensor."""
        return max((off + t.n_bytes for off, t in zip(self.tensor_offsets, self.tensors, strict=True)), default=0)

    @property
    def expected_file_size(self) -> int:
        """The whole file's size as the header describes it (header + tensor data)."""
        return self.data_offset + self.tensor_data_bytes

    @property
    def is_truncated(self) -> bool:
        return self.file_size is not None and self.file_size < self.expected_file_size


# -- the parser -------------------------------------------------------------------------------------------


class _Cursor:
    """Reads forward through a source, fetching more bytes on demand (``fetch_sizes`` decides how much)."""

    def __init__(self, source: ByteSource, first_fetch: int, max_header: int) -> None:
        self.source = source
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        self.next_fetch = first_fetch
        self.max_header = max_header
        self.order = "<"

    @property
    def known_end(self) -> int | None:
        """The furthest offset that can hold header bytes: the file size, or what we have at EOF."""
        size = self.source.size
        if self.eof:
            return len(self.buf) if size is None else min(size, len(self.buf))
        return size

    def remaining(self) -> int | None:
        end = self.known_end
        limit = self.max_header - self.pos
        return limit if end is None else min(limit, end - self.pos)

    def check_fits(self, n: int, what: str) -> None:
        """Refuse a length before reading it when the file (or the header cap) cannot hold it."""
        left = self.remaining()
        if left is not None and n > left:
            if self.pos + n > self.max_header:
                raise GGUFFormatError(
                    f"{self.source.name}: {what} would make the header larger than "
                    f"{self.max_header // (1024 * 1024)} MiB; the file is not a GGUF this app can read."
                )
            raise GGUFFormatError(
                f"{self.source.name}: {what} needs {n:,} bytes at offset {self.pos:,} but only {left:,} remain "
                "(the header is truncated or corrupt)."
            )

    def _ensure(self, n: int) -> None:
        need_end = self.pos + n
        while len(self.buf) < need_end:
            if self.eof:
                raise GGUFFormatError(
                    f"{self.source.name}: the file ends at byte {len(self.buf):,}, inside its header "
                    "(truncated before the end of the tensor list)."
                )
            if len(self.buf) >= self.max_header:
                raise GGUFFormatError(
                    f"{self.source.name}: header is larger than {self.max_header // (1024 * 1024)} MiB."
                )
            want = max(self.next_fetch, need_end - len(self.buf))
            want = min(want, self.max_header - len(self.buf))
            chunk = self.source.read(len(self.buf), want)
            if len(chunk) < want:
                self.eof = True
            self.buf += chunk
            self.next_fetch = min(self.next_fetch * 2, 64 * 1024 * 1024)

    def take(self, n: int) -> bytes:
        self._ensure(n)
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        self._ensure(n)
        self.pos += n

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(self.order + fmt)
        self._ensure(size)
        (value,) = struct.unpack_from(self.order + fmt, self.buf, self.pos)
        self.pos += size
        return value


def _value_type(raw: int, src: str, what: str) -> int:
    try:
        return int(GGUFValueType(raw))
    except ValueError:
        raise GGUFFormatError(f"{src}: {what} has unknown value type {raw}.") from None


def _read_string(cur: _Cursor, what: str, *, limit: int = MAX_STRING_BYTES, keep: bool = True) -> str:
    length = cur.unpack("Q")
    if length > limit:
        raise GGUFFormatError(f"{cur.source.name}: {what} claims a string of {length:,} bytes (limit {limit:,}).")
    cur.check_fits(length, what)
    if not keep:
        cur.skip(length)
        return ""
    raw = cur.take(length)
    return raw.decode("utf-8", errors="replace")


def _skip_strings(cur: _Cursor, count: int, what: str) -> None:
    """Walk past ``count`` strings (a 200K-token vocabulary) without decoding them: the hot loop of big headers."""
    fmt = cur.order + "Q"
    unpack_from = struct.unpack_from
    for i in range(count):
        if cur.pos + 8 > len(cur.buf):
            cur._ensure(8)
        (length,) = unpack_from(fmt, cur.buf, cur.pos)
        if length > MAX_STRING_BYTES:
            raise GGUFFormatError(f"{cur.source.name}: {what}[{i}] claims a string of {length:,} bytes.")
        end = cur.pos + 8 + length
        if end > len(cur.buf):
            cur.pos += 8
            cur.check_fits(length, f"{what}[{i}]")
            cur._ensure(length)
            cur.pos += length
        else:
            cur.pos = end


def _min_value_bytes(vtype: int) -> int:
    if vtype == GGUFValueType.STRING:
        return 8
    if vtype == GGUFValueType.ARRAY:
        return 12
    return struct.calcsize("<" + _SCALAR_FORMATS[vtype])


def _read_value(cur: _Cursor, vtype: int, what: str, depth: int = 0) -> Any:
    if vtype == GGUFValueType.STRING:
        return _read_string(cur, what)
    if vtype == GGUFValueType.ARRAY:
        if depth >= MAX_ARRAY_NESTING:
            raise GGUFFormatError(f"{cur.source.name}: {what} nests arrays too deeply.")
        elem = _value_type(cur.unpack("I"), cur.source.name, f"{what} (array element)")
        count = cur.unpack("Q")
        cur.check_fits(count * _min_value_bytes(elem), f"{what} (array of {count:,})")
        keep = count <= KEEP_ARRAY_VALUES_UP_TO
        if elem in _SCALAR_FORMATS:
            fmt = _SCALAR_FORMATS[elem]
            size = struct.calcsize("<" + fmt)
            if not keep:
                cur.skip(count * size)
                return GGUFArray(elem, count)
            raw = cur.take(count * size)
            return GGUFArray(elem, count, tuple(struct.unpack(f"{cur.order}{count}{fmt}", raw)))
        if elem == GGUFValueType.STRING and not keep:
            _skip_strings(cur, count, what)
            return GGUFArray(elem, count)
        values = []
        for i in range(count):
            values.append(_read_value(cur, elem, f"{what}[{i}]", depth + 1))
        return GGUFArray(elem, count, tuple(values) if keep else None)
    return cur.unpack(_SCALAR_FORMATS[vtype])


def _tensor_bytes(name: str, ggml_type: int, shape: tuple[int, ...], src: str) -> tuple[str, int]:
    try:
        qtype = GGMLQuantizationType(ggml_type)
        block, type_size = GGML_QUANT_SIZES[qtype]
    except (ValueError, KeyError):
        raise GGUFFormatError(
            f"{src}: tensor {name!r} has unknown ggml type {ggml_type} "
            "(a type newer than this app's gguf package, or a corrupt header)."
        ) from None
    if shape and shape[0] % block:
        raise GGUFFormatError(
            f"{src}: tensor {name!r} has a first dimension {shape[0]} that is not a multiple of the "
            f"{qtype.name} block size {block}."
        )
    n = 1
    for d in shape:
        n *= d
    return qtype.name.lower(), n // block * type_size


def read_gguf_header(
    source: ByteSource | str | Path,
    *,
    first_fetch: int = 2 * 1024 * 1024,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> GGUFHeader:
    """Parse one GGUF header from a path or a ``ByteSource``, reading no further than the header's end."""
    if not hasattr(source, "read"):
        source = LocalFileSource(source)  # type: ignore[arg-type]
    src: ByteSource = source  # type: ignore[assignment]
    cur = _Cursor(src, first_fetch=max(64, first_fetch), max_header=max_header_bytes)
    name = src.name

    try:
        magic = cur.take(4)
    except GGUFFormatError:
        raise GGUFFormatError(f"{name} is not a GGUF file (it is shorter than the 4-byte b'GGUF' mark).") from None
    if struct.unpack("<I", magic)[0] != GGUF_MAGIC:
        raise GGUFFormatError(f"{name} is not a GGUF file (its first bytes are {magic[:4]!r}, not b'GGUF').")
    version_raw = cur.take(4)
    version = struct.unpack("<I", version_raw)[0]
    byte_order = "little"
    if version & 0xFFFF == 0 and struct.unpack(">I", version_raw)[0] in (1, 2, 3):
        cur.order = ">"
        byte_order = "big"
        version = struct.unpack(">I", version_raw)[0]
    if version == 1:
        raise GGUFFormatError(f"{name} is GGUF version 1 (2023), which this app does not read.", hint="Re-convert it.")
    if version not in (2, 3):
        raise GGUFFormatError(f"{name} has GGUF version {version}; only versions 2 and 3 are known.")

    tensor_count = cur.unpack("Q")
    kv_count = cur.unpack("Q")
    # Each KV needs at least 8 (key length) + 4 (type) + 1 bytes, each tensor info 8 + 4 + 4 + 8.
    cur.check_fits(kv_count * 13, f"metadata count {kv_count:,}")
    cur.check_fits(kv_count * 13 + tensor_count * 24, f"tensor count {tensor_count:,}")

    metadata: dict[str, Any] = {}
    for i in range(kv_count):
        key = _read_string(cur, f"metadata key #{i}", limit=64 * 1024)
        vtype = _value_type(cur.unpack("I"), name, f"metadata {key!r}")
        metadata[key] = _read_value(cur, vtype, f"metadata {key!r}")

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFFormatError(f"{name}: general.alignment {alignment!r} is not a positive power of two.")

    split_no = metadata.get("split.no", 0)
    shard = split_no + 1 if isinstance(split_no, int) and not isinstance(split_no, bool) and split_no >= 0 else 1
    tensors: list[TensorInfo] = []
    offsets: list[int] = []
    for i in range(tensor_count):
        tname = _read_string(cur, f"tensor #{i} name", limit=MAX_TENSOR_NAME_BYTES)
        n_dims = cur.unpack("I")
        if n_dims > MAX_TENSOR_DIMS:
            raise GGUFFormatError(f"{name}: tensor {tname!r} claims {n_dims} dimensions (at most 4).")
        shape = tuple(cur.unpack("Q") for _ in range(n_dims))
        if any(d >= 1 << 48 for d in shape):
            raise GGUFFormatError(f"{name}: tensor {tname!r} has an absurd shape {shape}.")
        ggml_type = cur.unpack("I")
        offset = cur.unpack("Q")
        type_name, n_bytes = _tensor_bytes(tname, ggml_type, shape, name)
        if offset % alignment:
            raise GGUFFormatError(f"{name}: tensor {tname!r} data offset {offset} is not aligned to {alignment}.")
        tensors.append(TensorInfo(tname, type_name, ggml_type, shape, n_bytes, shard))
        offsets.append(offset)

    data_offset = -(-cur.pos // alignment) * alignment
    return GGUFHeader(
        source_name=name,
        version=version,
        byte_order=byte_order,
        metadata=metadata,
        tensors=tuple(tensors),
        tensor_offsets=tuple(offsets),
        alignment=alignment,
        data_offset=data_offset,
        file_size=src.size,
    )


# -- split models -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardName:
    prefix: str  # everything before "-00001-of-00004.gguf"
    number: int  # 1-based
    total: int


def parse_shard_name(filename: str) -> ShardName | None:
    """``Model-Q4_K_M-00002-of-00004.gguf`` -> ShardName("Model-Q4_K_M", 2, 4); None for an unsplit name."""
    m = _SHARD_RE.match(filename)
    if not m:
        return None
    number, total = int(m.group("shard")), int(m.group("total"))
    if total < 1 or not 1 <= number <= total:
        return None
    return ShardName(m.group("prefix"), number, total)


def shard_filename(prefix: str, number: int, total: int) -> str:
    """The name llama.cpp's ``gguf-split`` gives shard ``number`` (1-based)."""
    return f"{prefix}-{number:05d}-of-{total:05d}.gguf"


def read_split_headers(
    sources: list[ByteSource], *, progress: Callable[[str], None] | None = None, **kwargs: Any
) -> list[GGUFHeader]:
    """Every shard's header, ordered by ``split.no``; checks the set is complete and consistent."""
    headers = []
    for i, src in enumerate(sources, 1):
        if progress:
            progress(f"Reading GGUF header {i}/{len(sources)}: {src.name}")
        headers.append(read_gguf_header(src, **kwargs))
    headers.sort(key=lambda h: h.split_no)
    first = headers[0]
    count = first.split_count
    numbers = [h.split_no for h in headers]
    if count != len(headers) or numbers != list(range(count)):
        raise GGUFFormatError(
            f"{first.source_name}: the model is split into {count} file(s) but shards {[n + 1 for n in numbers]} "
            "were given.",
            hint="Keep every -0000N-of-0000M.gguf file of the model together in one folder.",
        )
    declared = first.get("split.tensors.count")
    found = sum(len(h.tensors) for h in headers)
    if isinstance(declared, int) and count > 1 and declared != found:
        raise GGUFFormatError(
            f"{first.source_name}: shard 1 declares {declared} tensors in all shards, but the shards list {found}."
        )
    return headers
