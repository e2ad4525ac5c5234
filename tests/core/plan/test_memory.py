"""Memory formulas against hand arithmetic and llama.cpp's own numbers."""

from __future__ import annotations

import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from advisor.model.types import ModelFacts, TensorInfo
from advisor.plan.memory import (
    KV_CACHE_TYPES,
    MIB,
    Assignment,
    DeviceSpec,
    MemoryRequest,
    PlanInputError,
    assign_layers,
    check_kv_types,
    device_memory,
    host_input_bytes,
    kv_bytes_by_layer,
    kv_bytes_per_token_by_layer,
    kv_cells,
    output_peak_bytes,
    row_bytes,
    weight_map_from_facts,
    weight_map_from_tensors,
)
from tests.core.plan.builders import GIB, dense_facts, dense_weights, minimax_facts


def test_minimax_kv_is_248_kib_per_token_and_7_75_gib_at_32k():
    facts = minimax_facts()
    per_token = sum(kv_bytes_per_token_by_layer(facts))
    assert per_token == 62 * 2 * 1024 * 2 == 253_952 == 248 * 1024
    assert sum(kv_bytes_by_layer(facts, 32768)) == int(7.75 * GIB)


@pytest.mark.parametrize(("kv_type", "gib"), [("q8_0", 24.7), ("q4_0", 13.1)])
def test_minimax_quantized_kv_at_full_context(kv_type, gib):
    total = sum(kv_bytes_by_layer(minimax_facts(), 196608, kv_type, kv_type))
    assert total / GIB == pytest.approx(gib, abs=0.05)


@pytest.mark.parametrize("kv_type", KV_CACHE_TYPES)
def test_row_bytes_follow_gguf_block_table(kv_type):
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[kv_type.upper()]]
    assert row_bytes(kv_type, 1024) == 1024 // block * size


def test_row_bytes_exact_values():
    assert row_bytes("q8_0", 1024) == 1088  # 32 blocks x 34 B
    assert row_bytes("q4_0", 1024) == 576  # 32 x 18
    assert row_bytes("f16", 1024) == 2048
    with pytest.raises(PlanInputError):
        row_bytes("q4_0", 100)  # not a whole number of blocks
    with pytest.raises(PlanInputError):
        row_bytes("q3_z", 1024)


def test_quantized_v_needs_flash_attention():
    check_kv_types("q8_0", "f16", flash_attention=False)  # K alone may be quantized
    check_kv_types("q8_0", "q8_0", flash_attention=True)
    with pytest.raises(PlanInputError, match="flash attention"):
        check_kv_types("f16", "q8_0", flash_attention=False)
    with pytest.raises(PlanInputError):
        check_kv_types("f16", "q7_0", flash_attention=True)


def test_context_is_padded_to_256_cells():
    facts = dense_facts()
    assert set(kv_cells(facts, 35000)) == {35072}
    assert set(kv_cells(facts, 4096)) == {4096}


def test_sliding_window_layers_hold_window_plus_ubatch():
    facts = dense_facts(sliding_window=1024, swa_layers=(0, 1, 2))
    cells = kv_cells(facts, 32768, ubatch=512, parallel=1)
    assert cells == (1536, 1536, 1536, 32768)
    # four slots (-np 4, not unified) are four streams of 8192 cells, each holding one window
    assert kv_cells(facts, 32768, ubatch=512, parallel=4) == (4 * 1536, 4 * 1536, 4 * 1536, 32768)
    assert kv_cells(facts, 1000, ubatch=512, parallel=1)[0] == 1024


def test_mla_caches_one_latent_row_and_no_v():
    # an MLA conversion: key_length = kv_lora_rank + rope dims, one KV head, the *_mla keys present
    facts = dense_facts(
        kv_lora_rank=512,
        rope_dimension_count=64,
        head_count_kv=(1,) * 4,
        key_length=512 + 64,
        value_length=512,
        key_length_mla=192,
        value_length_mla=128,
    )
    per_token = kv_bytes_per_token_by_layer(facts)
    assert per_token == ((512 + 64) * 2,) * 4


def test_layer_without_kv_heads_has_no_cache():
    facts = dense_facts(head_count_kv=(2, 0, 2, 0))
    assert kv_cells(facts, 4096) == (4096, 0, 4096, 0)


def test_ngl_counts_output_layer_first_then_last_blocks():
    # llama.cpp: i_gpu_start = max(n_layer + 1 - ngl, 0); the output layer is slot n_layer
    a = assign_layers(4, [1], n_gpu_layers=1)
    assert a.layer_device == (0, 0, 0, 0) and a.output_device == 1
    a = assign_layers(4, [1], n_gpu_layers=4)
    assert a.layer_device == (0, 1, 1, 1) and a.output_device == 1
    a = assign_layers(4, [1], n_gpu_layers=5)
    assert a.layer_device == (1, 1, 1, 1) and a.output_device == 1
    a = assign_layers(4, [1], n_gpu_layers=0)
    assert a.layer_device == (0, 0, 0, 0) and a.output_device == 0


def test_tensor_split_and_n_cpu_moe():
    a = assign_layers(7, [1, 2], n_gpu_layers=8, split=(1.0, 1.0), n_cpu_moe=3)
    assert a.layer_device == (1, 1, 1, 1, 2, 2, 2)
    assert a.output_device == 2
    assert a.expert_device == (0, 0, 0, 1, 2, 2, 2)
    uneven = assign_layers(7, [1, 2], n_gpu_layers=8, split=(3.0, 1.0))
    assert uneven.layer_device == (1, 1, 1, 1, 1, 1, 2)


def test_compute_buffers_match_a_real_minimax_load():
    """M2.7 UD-IQ3_S, n_ctx 24576, ubatch 512, FA on: GPU compute 396.75 MiB, host 60.01 MiB (tech-facts s.3)."""
    facts = minimax_facts()
    gpu = output_peak_bytes(facts, 512)
    assert gpu / MIB == pytest.approx(396.75, rel=0.02)
    host = host_input_bytes(facts, kv_cells(facts, 24576), 512)
    assert host / MIB == pytest.approx(60.01, abs=1)


def _devices():
    return (
        DeviceSpec("CPU", "cpu", 64 * GIB, GIB),
        DeviceSpec("CUDA0", "gpu", 24 * GIB, 1424 * MIB),
    )


def test_device_memory_places_weights_kv_and_output():
    facts = dense_facts()
    weights = dense_weights(100 * MIB)
    request = MemoryRequest(context=4096)
    rows = device_memory(facts, weights, _devices(), assign_layers(4, [1], n_gpu_layers=4), request)
    cpu, gpu = rows
    # block 0 and the embeddings on the CPU; blocks 1-3 and the output layer on the GPU
    assert cpu.weights_bytes == 10 * MIB + 100 * MIB
    assert gpu.weights_bytes == 3 * 100 * MIB + 10 * MIB
    per_layer_kv = 4096 * (2 * 64 * 2 * 2)
    assert cpu.kv_bytes == per_layer_kv and gpu.kv_bytes == 3 * per_layer_kv
    assert cpu.output_bytes == 1000 * 4 and gpu.output_bytes == 0
    assert cpu.mapped_weights_bytes == cpu.weights_bytes  # mmap: CPU weights are page cache
    assert gpu.mapped_weights_bytes == 0
    assert gpu.decode_read_bytes == gpu.weights_bytes
    assert cpu.decode_read_bytes == 100 * MIB  # the embedding table is looked up, not read whole
    assert gpu.other_bytes == 1424 * MIB and gpu.capacity_bytes == 24 * GIB
    no_mmap = device_memory(
        facts, weights, _devices(), assign_layers(4, [1], n_gpu_layers=4), MemoryRequest(4096, mmap=False)
    )
    assert no_mmap[0].mapped_weights_bytes == 0


def test_moe_decode_reads_used_share_of_experts():
    facts = minimax_facts()
    weights = weight_map_from_facts(facts, 140 * 10**9)
    assignment = Assignment((1,) * 62, (0,) * 62, 1)
    cpu, gpu = device_memory(facts, weights, _devices(), assignment, MemoryRequest(32768))
    assert cpu.weights_bytes == weights.expert_bytes + weights.token_embd_bytes + weights.other_bytes
    assert cpu.decode_read_bytes == pytest.approx(weights.expert_bytes * 8 / 256, rel=1e-6)
    assert gpu.kv_bytes_per_token == 253_952


def test_scaled_weight_map_sums_to_file_size():
    facts = minimax_facts()
    weights = weight_map_from_facts(facts, 140 * 10**9)
    assert weights.total_bytes == 140 * 10**9
    # experts are 224.68 B of 228.69 B parameters (tech-facts s.1)
    assert weights.expert_bytes / weights.total_bytes == pytest.approx(224.68 / 228.69, abs=0.002)


def test_weight_map_from_tensors_classifies_like_n_cpu_moe():
    tensors = (
        TensorInfo("token_embd.weight", "q4_k", 12, (8, 8), 100),
        TensorInfo("output.weight", "q6_k", 14, (8, 8), 200),
        TensorInfo("output_norm.weight", "f32", 0, (8,), 32),
        TensorInfo("blk.0.attn_q.weight", "q4_k", 12, (8, 8), 10),
        TensorInfo("blk.0.ffn_up_exps.weight", "q4_k", 12, (8, 8, 4), 1000),
        TensorInfo("blk.1.ffn_gate_exps.weight", "q4_k", 12, (8, 8, 4), 1000),
        TensorInfo("blk.1.ffn_gate_inp.weight", "f32", 0, (8, 4), 128),
        TensorInfo("rope_freqs.weight", "f32", 0, (4,), 16),
    )
    facts = ModelFacts(
        architecture="x",
        block_count=2,
        context_length=1,
        embedding_length=8,
        vocab_size=8,
        head_count=(1, 1),
        head_count_kv=(1, 1),
        key_length=8,
        value_length=8,
        tensors=tensors,
    )
    wm = weight_map_from_tensors(facts)
    assert wm.token_embd_bytes == 100 and wm.output_bytes == 232 and wm.other_bytes == 16
    assert [(lw.dense_bytes, lw.expert_bytes) for lw in wm.layers] == [(10, 1000), (128, 1000)]


def test_weights_left_in_ram_are_staged_in_the_gpu_compute_buffer():
    facts = dense_facts()
    weights = dense_weights(100 * MIB)
    full = device_memory(facts, weights, _devices(), assign_layers(4, [1], n_gpu_layers=5), MemoryRequest(4096))
    part = device_memory(facts, weights, _devices(), assign_layers(4, [1], n_gpu_layers=4), MemoryRequest(4096))
    # block 0 stays in RAM: its FFN matrices (3 x 512 x 1024 of the block's parameters) are copied for prompts
    ffn_share = 3 * 512 * 1024 / (512 * 512 * 2 + 512 * 256 + 512 * 1024 * 3 + 2 * 512)
    assert part[1].compute_bytes - full[1].compute_bytes == int(100 * MIB * ffn_share)
    small_batch = device_memory(
        facts, weights, _devices(), assign_layers(4, [1], n_gpu_layers=4), MemoryRequest(4096, ubatch=16)
    )
    assert small_batch[1].compute_bytes < part[1].compute_bytes  # below 32 tokens nothing is offloaded
