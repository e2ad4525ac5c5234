"""ModelFacts and WeightMap from real GGUF headers: exact numbers, worked out by hand where practical."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from advisor.errors import GGUFFormatError
from advisor.model.facts import (
    expert_tensor_types,
    facts_from_headers,
    is_expert_tensor,
    weight_map_from_tensors,
)
from advisor.model.gguf_reader import LocalFileSource, read_gguf_header, read_split_headers
from advisor.plan.memory import kv_bytes_by_layer, kv_bytes_per_token_by_layer
from tests.fixtures.ggufs import GGUFSpec, expected_tensors, write_gguf


def _facts(tmp_path: Path, spec: GGUFSpec, **kwargs):
    paths = write_gguf(tmp_path / "m.gguf", spec, **kwargs)
    return facts_from_headers(read_split_headers([LocalFileSource(p) for p in paths]))


def test_dense_gqa_facts_exact(tmp_path: Path) -> None:
    spec = GGUFSpec(
        arch="llama",
        n_layers=3,
        n_embd=64,
        n_head=4,
        n_head_kv=2,
        n_ff=128,
        n_vocab=256,
        context_length=8192,
        license="llama3.2",
        license_name="Llama 3.2 Community License",
    )
    f = _facts(tmp_path, spec)
    assert (f.architecture, f.block_count, f.context_length, f.embedding_length) == ("llama", 3, 8192, 64)
    assert f.head_count == (4, 4, 4) and f.head_count_kv == (2, 2, 2)
    assert (f.key_length, f.value_length) == (16, 16)  # n_embd / n_head when the keys are absent
    assert f.vocab_size == 256 and f.feed_forward_length == 128
    assert not f.is_moe and f.sliding_window is None and f.swa_layers == ()
    # by hand: embd 64x256; per layer 2 norms 128 + q 4096 + k 2048 + v 2048 + o 4096 + ffn 3 x 8192
    per_layer = 128 + 4096 + 2048 + 2048 + 4096 + 3 * 8192
    assert f.total_params == 16384 + 3 * per_layer + 64 + 16384
    assert f.active_params == f.total_params - 16384  # the input embedding is a lookup
    assert f.tensor_types == ("f32",)
    assert (f.license, f.license_name) == ("llama3.2", "Llama 3.2 Community License")
    assert f.name == "Tiny Test Model"
    assert len(f.tensors) == 3 * 9 + 3
    # f16 KV: 3 layers x 2 KV heads x (16 + 16) x 2 B; 1000 tokens are padded to 1024 cells as llama.cpp does
    assert sum(kv_bytes_per_token_by_layer(f)) == 3 * 2 * 32 * 2
    assert sum(kv_bytes_by_layer(f, 1000)) == 1024 * 3 * 2 * 32 * 2


def test_tied_embeddings_count_as_active(tmp_path: Path) -> None:
    f = _facts(tmp_path, GGUFSpec(n_layers=1, tied_embeddings=True))
    assert "output.weight" not in {t.name for t in f.tensors}
    assert f.tied_embeddings
    assert f.active_params == f.total_params


def test_moe_active_params_from_tensors(tmp_path: Path) -> None:
    spec = GGUFSpec(
        arch="deepseek2",
        n_layers=4,
        n_embd=64,
        n_head=4,
        n_head_kv=4,
        n_ff=96,
        n_vocab=128,
        experts=16,
        experts_used=4,
        expert_ff=32,
        shared_experts=1,
        leading_dense=1,
    )
    f = _facts(tmp_path, spec)
    assert (f.expert_count, f.expert_used_count, f.expert_feed_forward_length) == (16, 4, 32)
    assert (f.expert_shared_count, f.leading_dense_block_count) == (1, 1)
    expert = sum(_n(shape) for _name, shape, is_exp in expected_tensors(spec) if is_exp)
    other = sum(_n(shape) for name, shape, is_exp in expected_tensors(spec) if not is_exp)
    embd = 64 * 128
    assert expert == 3 * 3 * 64 * 32 * 16  # three MoE layers x gate/up/down x n_embd x ff x experts
    assert f.total_params == expert + other
    assert f.active_params == expert * 4 // 16 + other - embd
    assert not any(is_expert_tensor(t.name) for t in f.tensors if "shexp" in t.name)  # shared: fully active


def test_weight_map_splits_dense_and_experts(tmp_path: Path) -> None:
    spec = GGUFSpec(
        arch="qwen3moe",
        n_layers=3,
        n_embd=256,
        n_head=4,
        n_head_kv=2,
        n_vocab=256,
        experts=8,
        experts_used=2,
        expert_ff=256,
        leading_dense=1,
        weight_type=GGMLQuantizationType.Q8_0,
    )
    paths = write_gguf(tmp_path / "m.gguf", spec, split_max_tensors=9, small_first_shard=True)
    headers = read_split_headers([LocalFileSource(p) for p in paths])
    f = facts_from_headers(headers)
    w = weight_map_from_tensors(f)
    _, q8 = GGML_QUANT_SIZES[GGMLQuantizationType.Q8_0]
    per_expert_tensor = 256 * 256 * 8 // 32 * q8
    assert [layer.expert_bytes for layer in w.layers] == [0, 3 * per_expert_tensor, 3 * per_expert_tensor]
    assert w.layers[0].dense_bytes > w.layers[1].dense_bytes  # the leading dense block holds a full FFN
    assert w.token_embd_bytes == 256 * 256 // 32 * q8
    assert w.output_bytes == 256 * 256 // 32 * q8 + 256 * 4  # output.weight + output_norm
    assert w.other_bytes == 0
    # the map covers every tensor byte of every shard: file sizes minus headers and padding
    assert w.total_bytes == sum(h.tensor_data_bytes for h in headers)
    assert f.tensor_types == ("f32", "q8_0")
    assert expert_tensor_types(f) == ("q8_0",)
    assert not f.tied_embeddings


@pytest.mark.parametrize(
    ("arch", "window", "pattern", "n_layers", "expected_window", "expected_layers"),
    [
        ("gemma2", 4096, None, 6, 4096, (0, 2, 4)),  # period 2: even layers slide
        ("gemma2", None, None, 4, 4096, (0, 2)),  # gemma2's built-in default window
        ("gemma3", 1024, None, 12, 1024, (0, 1, 2, 3, 4, 6, 7, 8, 9, 10)),  # 5 of every 6
        ("gpt-oss", 128, None, 4, 128, (0, 2)),
        ("cohere2", 4096, None, 8, 4096, (0, 1, 2, 4, 5, 6)),
        ("gemma3n", 512, None, 6, 512, (0, 1, 2, 3, 5)),
        ("gemma3", 512, 3, 6, 512, (0, 1, 3, 4)),  # the pattern key overrides the period
        ("llama4", None, None, 8, 8192, (0, 1, 2, 4, 5, 6)),  # chunked attention, fixed 8192
        ("llama4", 0, None, 8, None, ()),  # sliding_window 0 switches it off
        ("mistral", 4096, None, 4, 4096, ()),  # unknown layout: sized as full attention
        ("llama", None, None, 4, None, ()),
    ],
)
def test_sliding_window_layers_follow_llama_cpp(
    tmp_path: Path, arch, window, pattern, n_layers, expected_window, expected_layers
) -> None:
    spec = GGUFSpec(arch=arch, n_layers=n_layers, sliding_window=window, sliding_window_pattern=pattern)
    f = _facts(tmp_path, spec)
    assert (f.sliding_window, f.swa_layers) == (expected_window, expected_layers)


def test_per_layer_flags_and_head_counts(tmp_path: Path) -> None:
    spec = GGUFSpec(
        arch="gemma3n",
        n_layers=4,
        sliding_window=512,
        sliding_window_pattern=(True, False, True, True),
        head_count_kv_per_layer=(2, 2, 1, 0),
    )
    f = _facts(tmp_path, spec)
    assert f.swa_layers == (0, 2, 3)
    assert f.head_count_kv == (2, 2, 1, 0)
    # f16 per token: layers with 2, 2, 1 and 0 KV heads of key+value 16+16
    assert kv_bytes_per_token_by_layer(f) == (2 * 32 * 2, 2 * 32 * 2, 1 * 32 * 2, 0)
    # at 2048 tokens the SWA layers (0, 2, 3) hold window + ubatch = 512 + 512 cells (padded to 256)
    assert sum(kv_bytes_by_layer(f, 2048, ubatch=512)) == (2 * 32 * 1024 + 2 * 32 * 2048 + 1 * 32 * 1024) * 2


def test_gemma3n_later_layers_share_the_cache(tmp_path: Path) -> None:
    f = _facts(tmp_path, GGUFSpec(arch="gemma3n", n_layers=24, n_head_kv=2, sliding_window=512))
    assert f.head_count_kv == (2,) * 20 + (0,) * 4
    assert sum(kv_bytes_per_token_by_layer(f)) == 20 * 2 * 32 * 2


def test_mla_rank_and_cache(tmp_path: Path) -> None:
    spec = GGUFSpec(
        arch="deepseek2",
        n_layers=2,
        kv_lora_rank=32,
        head_dim=16,
        extra_kv={"deepseek2.attention.key_length_mla": 24, "deepseek2.attention.value_length_mla": 16},
    )
    f = _facts(tmp_path, spec)
    assert (f.kv_lora_rank, f.key_length_mla, f.value_length_mla) == (32, 24, 16)
    assert f.rope_dimension_count == 16
    # llama.cpp runs MLA (both *_mla keys present): one K row of key_length per KV head, no V cache
    assert kv_bytes_per_token_by_layer(f) == (16 * 2 * 2, 16 * 2 * 2)


def test_missing_required_keys_and_bad_arrays(tmp_path: Path) -> None:
    f_ok = _facts(tmp_path, GGUFSpec(n_layers=2))
    assert f_ok.block_count == 2
    (path,) = write_gguf(tmp_path / "x.gguf", GGUFSpec(n_layers=3, head_count_kv_per_layer=(1, 1, 1)))
    header = read_gguf_header(path)
    broken = dict(header.metadata)
    del broken["llama.block_count"]
    with pytest.raises(GGUFFormatError, match=r"llama\.block_count"):
        facts_from_headers([_with_metadata(header, broken)])
    broken = dict(header.metadata)
    broken["llama.block_count"] = 4  # the per-layer array has 3 entries
    with pytest.raises(GGUFFormatError, match="3 entries for 4 layers"):
        facts_from_headers([_with_metadata(header, broken)])


def _with_metadata(header, metadata):
    from dataclasses import replace

    return replace(header, metadata=metadata)


def _n(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
