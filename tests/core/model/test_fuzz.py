"""Fuzzing the header reader: truncated and mutated headers give GGUFFormatError or a result, nothing else.

Example counts stay modest (the machine has 2 shared cores); the deadline catches hangs, tracemalloc catches
allocations that follow a lying length field.
"""

from __future__ import annotations

import struct
import tracemalloc
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.errors import GGUFFormatError
from advisor.model.facts import facts_from_headers, weight_map_from_tensors
from advisor.model.gguf_reader import BytesSource, read_gguf_header
from tests.fixtures.ggufs import GGUFSpec, gguf_bytes, header_length

FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@cache
def _valid_header() -> bytes:
    spec = GGUFSpec(
        arch="gemma3",
        n_layers=2,
        n_embd=32,
        n_head=2,
        n_head_kv=1,
        n_ff=32,
        n_vocab=40,
        experts=4,
        experts_used=2,
        expert_ff=32,
        sliding_window=64,
        head_count_kv_per_layer=(1, 0),
        license="apache-2.0",
        extra_kv={"general.tags": ["a", "b"], "custom.u32": 7},
    )
    raw = gguf_bytes(spec)
    return raw[: header_length(raw)]


def _parse(raw: bytes) -> None:
    try:
        header = read_gguf_header(BytesSource(raw, name="fuzz.gguf"), first_fetch=64)
        facts = facts_from_headers([header])
        weight_map_from_tensors(facts) if facts.tensors else None
    except GGUFFormatError as exc:
        assert exc.message  # one clear message


@FUZZ
@given(st.data())
def test_truncated_headers(data: st.DataObject) -> None:
    raw = _valid_header()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    try:
        read_gguf_header(BytesSource(raw[:cut]))
    except GGUFFormatError:
        return
    raise AssertionError(f"a header cut at {cut} of {len(raw)} bytes was accepted")


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255)),
        min_size=1,
        max_size=8,
    )
)
def test_byte_mutations(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(_valid_header())
    for pos, value in edits:
        raw[pos % len(raw)] = value
    _parse(bytes(raw))


@FUZZ
@given(
    st.integers(min_value=0, max_value=10_000),
    st.one_of(st.integers(min_value=0, max_value=2**64 - 1), st.sampled_from([2**63, 2**32, 2**31 - 1, 0])),
)
def test_lying_u64_fields_stay_bounded(pos: int, value: int) -> None:
    """Overwrite any 8 bytes with a (often huge) number: a length, a count or a shape that lies."""
    raw = bytearray(_valid_header())
    pos %= len(raw) - 8
    raw[pos : pos + 8] = struct.pack("<Q", value)
    tracemalloc.start()
    try:
        _parse(bytes(raw))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
