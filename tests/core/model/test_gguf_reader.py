"""The streaming GGUF header reader against real files written by gguf.GGUFWriter."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import pytest
from gguf import GGMLQuantizationType, GGUFReader

from advisor.errors import GGUFFormatError
from advisor.model.gguf_reader import (
    BytesSource,
    GGUFArray,
    LocalFileSource,
    parse_shard_name,
    read_gguf_header,
    read_split_headers,
    shard_filename,
)
from tests.fixtures.ggufs import GGUFSpec, data_offset, gguf_bytes, header_length, truncate_to_header, write_gguf

DENSE = GGUFSpec(arch="llama", n_layers=3, n_embd=64, n_head=4, n_head_kv=2, n_ff=128, n_vocab=256)


def test_dense_header_matches_the_gguf_package(tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "Dense-F32.gguf", DENSE)
    header = read_gguf_header(path)
    reference = GGUFReader(path)
    assert header.version == 3
    assert header.byte_order == "little"
    assert header.data_offset == reference.data_offset == data_offset(path)
    assert [t.name for t in header.tensors] == [t.name for t in reference.tensors]
    assert [t.shape for t in header.tensors] == [tuple(int(d) for d in t.shape) for t in reference.tensors]
    assert [t.n_bytes for t in header.tensors] == [int(t.n_bytes) for t in reference.tensors]
    assert header.expected_file_size == path.stat().st_size
    assert not header.is_truncated
    assert header.get("general.architecture") == "llama"
    assert header.get("llama.block_count") == 3
    tokens = header.get("tokenizer.ggml.tokens")
    assert isinstance(tokens, GGUFArray) and tokens.count == 256 and tokens.values[255] == "tok000255"


def test_quantized_tensor_types_and_sizes(tmp_path: Path) -> None:
    spec = GGUFSpec(n_layers=1, n_embd=256, n_head=4, n_head_kv=4, n_ff=512, weight_type=GGMLQuantizationType.Q4_K)
    (path,) = write_gguf(tmp_path / "Q4.gguf", spec)
    header = read_gguf_header(path)
    q = next(t for t in header.tensors if t.name == "blk.0.attn_q.weight")
    assert (q.type_name, q.ggml_type, q.shape) == ("q4_k", 12, (256, 256))
    assert q.n_bytes == 256 * 256 // 256 * 144  # Q4_K: 144 bytes per 256 weights
    norm = next(t for t in header.tensors if t.name == "blk.0.attn_norm.weight")
    assert (norm.type_name, norm.n_bytes) == ("f32", 256 * 4)
    assert header.expected_file_size == path.stat().st_size


def test_truncated_copy_reads_the_same_header(tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "Dense.gguf", DENSE)
    cut = truncate_to_header(path, tmp_path / "cut.gguf")
    assert cut.stat().st_size < path.stat().st_size
    whole, short = read_gguf_header(path), read_gguf_header(cut)
    assert short.tensors == whole.tensors
    assert short.is_truncated and short.expected_file_size == path.stat().st_size


def test_cut_inside_the_tensor_list_is_a_format_error(tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "Dense.gguf", DENSE)
    raw = path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(raw[: header_length(raw) - 5])
    with pytest.raises(GGUFFormatError, match="truncated"):
        read_gguf_header(cut)


def test_big_endian_file(tmp_path: Path) -> None:
    (path,) = write_gguf(tmp_path / "BE.gguf", DENSE, big_endian=True)
    (little,) = write_gguf(tmp_path / "LE.gguf", DENSE)
    be, le = read_gguf_header(path), read_gguf_header(little)
    assert be.byte_order == "big"
    assert be.tensors == le.tensors
    assert be.get("llama.attention.head_count_kv") == 2


def test_version_2_reads_and_version_1_is_refused() -> None:
    raw = bytearray(gguf_bytes(DENSE))
    raw[4:8] = struct.pack("<I", 2)
    assert read_gguf_header(BytesSource(bytes(raw))).version == 2
    raw[4:8] = struct.pack("<I", 1)
    with pytest.raises(GGUFFormatError, match="version 1"):
        read_gguf_header(BytesSource(bytes(raw)))


def test_split_model_with_metadata_only_first_shard(tmp_path: Path) -> None:
    paths = write_gguf(tmp_path / "Split.gguf", DENSE, split_max_tensors=12, small_first_shard=True)
    assert [p.name for p in paths][:2] == ["Split-00001-of-00004.gguf", "Split-00002-of-00004.gguf"]
    headers = read_split_headers([LocalFileSource(p) for p in reversed(paths)])  # any order in
    assert [h.split_no for h in headers] == [0, 1, 2, 3]
    assert len(headers[0].tensors) == 0  # metadata only
    assert headers[0].get("llama.block_count") == 3 and headers[1].get("llama.block_count") is None
    assert [t.shard for t in headers[2].tensors] == [3] * len(headers[2].tensors)
    (whole,) = write_gguf(tmp_path / "Whole.gguf", DENSE)
    assert [t.name for h in headers for t in h.tensors] == [t.name for t in read_gguf_header(whole).tensors]


def test_split_with_a_missing_shard_is_refused(tmp_path: Path) -> None:
    paths = write_gguf(tmp_path / "Split.gguf", DENSE, split_max_tensors=12, small_first_shard=True)
    with pytest.raises(GGUFFormatError, match="split into 4"):
        read_split_headers([LocalFileSource(p) for p in paths[:3]])


def test_shard_names() -> None:
    assert parse_shard_name("MiniMax-M2.7-UD-Q4_K_XL-00002-of-00004.gguf").prefix == "MiniMax-M2.7-UD-Q4_K_XL"
    assert parse_shard_name("x-00002-of-00004.gguf").number == 2
    assert parse_shard_name("x-00005-of-00004.gguf") is None
    assert parse_shard_name("Model-Q4_K_M.gguf") is None
    assert shard_filename("M", 3, 12) == "M-00003-of-00012.gguf"


def _header_with(kv_bytes: bytes, n_kv: int = 1, n_tensors: int = 0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + kv_bytes


def _key(name: str) -> bytes:
    return struct.pack("<Q", len(name)) + name.encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"GGML" + b"\0" * 40, "not a GGUF"),
        (b"GG", "not a GGUF"),
        (b"GGUF" + struct.pack("<IQQ", 7, 0, 0), "version 7"),
        (_header_with(b"", n_kv=2**62), "metadata count"),
        (_header_with(b"", n_kv=0, n_tensors=2**40), "tensor count"),
        (_header_with(_key("a") + struct.pack("<IQ", 8, 2**60)), "string of"),
        (_header_with(_key("a") + struct.pack("<IQ", 8, 5000) + b"x" * 10), "only"),
        (_header_with(_key("a") + struct.pack("<I", 99)), "unknown value type 99"),
        (_header_with(_key("a") + struct.pack("<IIQ", 9, 4, 2**50)), "array of"),
        (_header_with(_key("a") + struct.pack("<IIQ", 9, 77, 1)), "unknown value type 77"),
        (_header_with(struct.pack("<Q", 2**40) + b"\0" * 20), "string of"),
    ],
)
def test_malformed_headers_raise_one_clear_error(raw: bytes, message: str) -> None:
    with pytest.raises(GGUFFormatError, match=message):
        read_gguf_header(BytesSource(raw, name="bad.gguf"))


def _tensor_info(name: str, dims: list[int], ggml_type: int, offset: int = 0, n_dims: int | None = None) -> bytes:
    n = len(dims) if n_dims is None else n_dims
    return (
        _key(name) + struct.pack("<I", n) + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", ggml_type, offset)
    )


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (_tensor_info("t", [32], 250), "unknown ggml type 250"),
        (_tensor_info("t", [33], GGMLQuantizationType.Q8_0), "not a multiple"),
        (_tensor_info("t", [32, 2, 2, 2, 2], 0), "5 dimensions"),
        (_tensor_info("t", [32], 0, offset=3), "not aligned"),
        (_tensor_info("x" * 300, [32], 0), "string of 300"),
    ],
)
def test_malformed_tensor_infos(info: bytes, message: str) -> None:
    raw = _header_with(info, n_kv=0, n_tensors=1) + b"\0" * 64
    with pytest.raises(GGUFFormatError, match=message):
        read_gguf_header(BytesSource(raw, name="bad.gguf"))


def test_lying_lengths_allocate_no_memory_in_proportion() -> None:
    """A header that claims a 1 TB string or a 2^40-entry array fails before allocating anything big."""
    lies = [
        _header_with(_key("a") + struct.pack("<IQ", 8, 10**12)),
        _header_with(_key("a") + struct.pack("<IIQ", 9, 6, 2**40)),
        _header_with(b"", n_kv=0, n_tensors=2**50),
    ]
    tracemalloc.start()
    try:
        for raw in lies:
            with pytest.raises(GGUFFormatError):
                read_gguf_header(BytesSource(raw))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_header_cap_stops_an_endless_header() -> None:
    raw = _header_with(_key("a") + struct.pack("<IQ", 8, 3000) + b"y" * 3000, n_kv=1)
    assert read_gguf_header(BytesSource(raw), max_header_bytes=10_000).get("a") == "y" * 3000
    with pytest.raises(GGUFFormatError, match="larger than"):
        read_gguf_header(BytesSource(raw + b"\0" * 20_000), max_header_bytes=1024 * 1024 // 1000)


def test_reads_only_the_header_of_a_local_file(tmp_path: Path) -> None:
    spec = GGUFSpec(n_layers=1, n_vocab=40_000, n_embd=64)  # ~700 KB header, ~20 MB of tensor data
    (path,) = write_gguf(tmp_path / "Big.gguf", spec)

    class Counting(LocalFileSource):
        asked = 0

        def read(self, offset: int, length: int) -> bytes:
            Counting.asked += length
            return super().read(offset, length)

    header = read_gguf_header(Counting(path), first_fetch=256 * 1024)
    assert header.data_offset < 1_000_000 < path.stat().st_size
    assert Counting.asked <= 4 * header.data_offset
    tokens = header.get("tokenizer.ggml.tokens")
    assert tokens.count == 40_000 and tokens.values is None  # long arrays keep their count only
