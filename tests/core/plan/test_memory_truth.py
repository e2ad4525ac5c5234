"""The CPU buffers ``plan`` predicts for small generated GGUFs, against numbers derived by hand from llama.cpp's rules.

Each expected number is computed here from the tensor shapes and the rule it tests (block sizes from ggml's
type table, llama.cpp's padding), never read back from the code under test or from a llama.cpp log.
``benchmarks/memory_vs_llamacpp.py`` checks the same rules against real llama.cpp loads (docs/accuracy.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFWriter

from advisor.hardware.types import Cpu, Gpu, Hardware, Memory
from advisor.model.resolve import resolve_model
from advisor.plan.planner import plan
from advisor.plan.types import DeviceMemory, PlanOptions, Verdict
from tests.fixtures.ggufs import GGUFSpec, expected_tensors, write_gguf

GIB = 1024**3
MIB = 1024**2
Q4_0 = GGMLQuantizationType.Q4_0

# Q4_0 stores 32 values in 18 bytes; q8_0 32 values in 34 bytes; f16 2 bytes a value.
# Two blocks of a 4-bit llama: n_embd 256, 4 query heads of 64, 2 KV heads, FFN 512, vocabulary 500.
SPEC_Q4 = GGUFSpec(n_layers=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=512, n_vocab=500, weight_type=Q4_0)
Q4_BLOCK_MATRICES = (
    256 * 256 // 32 * 18  # attn_q: 256 rows
    + 2 * (256 * 128 // 32 * 18)  # attn_k, attn_v: 128 rows each
    + 256 * 256 // 32 * 18  # attn_output
    + 3 * (256 * 512 // 32 * 18)  # ffn_gate, ffn_up (512 rows), ffn_down (256 rows)
)
Q4_OUTPUT = 256 * 500 // 32 * 18  # output.weight: 500 rows, not a multiple of 8 (AVX2) but of 4 (ARM)


def machine(features: tuple[str, ...] = ("avx2", "fma"), *, ram: int = 64 * GIB, gpus: tuple[Gpu, ...] = ()):
    return Hardware(cpu=Cpu(arch="x86_64", features=features), memory=Memory(total_bytes=ram), gpus=gpus)


def cpu_row(path: Path, hardware: Hardware, **options) -> tuple[DeviceMemory, object]:
    (option,) = plan(resolve_model(str(path)), hardware, PlanOptions(**options)).options
    return next(r for r in option.memory if r.kind == "cpu"), option


@pytest.fixture
def q4_model(tmp_path: Path) -> Path:
    (path,) = write_gguf(tmp_path / "tiny-Q4_0.gguf", SPEC_Q4)
    return path


def test_avx2_repacks_q4_0_matrices_with_rows_in_eights_into_anonymous_memory(q4_model: Path) -> None:
    row, option = cpu_row(q4_model, machine(), context=2048)
    assert option.verdict is Verdict.CPU
    # mapped: every tensor of the file (token_embd and output are Q4_0 too; norms f32)
    assert row.mapped_weights_bytes == 2 * Q4_OUTPUT + 2 * (Q4_BLOCK_MATRICES + 2 * 256 * 4) + 256 * 4
    # the file stays mapped; the repacked copy of every block matrix comes on top (output has 500 rows: skipped)
    assert row.weights_bytes - row.mapped_weights_bytes == 2 * Q4_BLOCK_MATRICES


def test_arm_dotprod_repacks_rows_in_fours_so_the_output_matrix_too(q4_model: Path) -> None:
    row, _ = cpu_row(q4_model, machine(("neon", "asimd", "dotprod")), context=2048)
    assert row.weights_bytes - row.mapped_weights_bytes == 2 * Q4_BLOCK_MATRICES + Q4_OUTPUT


def test_no_repack_without_avx2_or_with_a_gpu(q4_model: Path) -> None:
    row, _ = cpu_row(q4_model, machine(("avx", "fma")), context=2048)
    assert row.weights_bytes == row.mapped_weights_bytes
    gpu = Gpu(vendor="nvidia", name="RTX 4090", vram_total_bytes=24 * GIB, vram_free_bytes=24 * GIB)
    (option,) = plan(resolve_model(str(q4_model)), machine(gpus=(gpu,)), PlanOptions(context=2048)).options
    cpu = option.memory[0]
    assert cpu.weights_bytes == cpu.mapped_weights_bytes  # CPU-held weights use the GPU's host buffer, never repacked


def test_avx2_repacks_mxfp4_expert_stacks(tmp_path: Path) -> None:
    # MXFP4 stores 32 values in 17 bytes; only the three routed-expert stacks are MXFP4 here (rows 64 and 256)
    spec = GGUFSpec(
        arch="gpt-oss",
        n_layers=2,
        n_embd=256,
        n_head=4,
        n_head_kv=2,
        experts=4,
        experts_used=2,
        expert_ff=64,
        weight_type=GGMLQuantizationType.MXFP4,
    )
    (path,) = write_gguf(tmp_path / "tiny-MXFP4.gguf", spec)
    row, _ = cpu_row(path, machine(), context=2048)
    experts = 3 * (256 * 64 * 4 // 32 * 17)  # gate, up: 64 rows x 256; down: 256 rows x 64; 4 experts each
    block_matrices = 256 * 256 // 32 * 17 * 2 + 256 * 128 // 32 * 17 * 2  # q, output; k, v
    assert row.weights_bytes - row.mapped_weights_bytes == 2 * (experts + block_matrices) + 256 * 256 // 32 * 17


def test_q8_0_weights_are_never_repacked(tmp_path: Path) -> None:
    spec = GGUFSpec(n_layers=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=512, weight_type=GGMLQuantizationType.Q8_0)
    (path,) = write_gguf(tmp_path / "tiny-Q8_0.gguf", spec)
    row, _ = cpu_row(path, machine(("avx2", "avx512f")), context=2048)
    assert row.weights_bytes == row.mapped_weights_bytes


def test_streaming_from_disk_plans_without_the_repacked_copy(q4_model: Path) -> None:
    roomy, _ = cpu_row(q4_model, machine(), context=256)
    # RAM: the OS reserve (1 GiB minimum) plus exactly the KV, compute and output buffers: the anonymous part fits
    # only without the repacked copy, and the mapped file does not fit at all
    ram = 1 * GIB + roomy.kv_bytes + roomy.compute_bytes + roomy.output_bytes + 4096
    row, option = cpu_row(q4_model, machine(ram=ram), context=256)
    assert option.verdict is Verdict.DISK_STREAM
    assert row.weights_bytes == row.mapped_weights_bytes
    assert "--no-repack" in option.llama_cpp_argv


def test_sliding_window_layers_hold_window_plus_ubatch_cells_padded_to_256(tmp_path: Path) -> None:
    # gemma3: layers il % 6 < 5 slide (10 of 12); head 16, 2 KV heads: 32 values a row for K and for V
    spec = GGUFSpec(arch="gemma3", n_layers=12, sliding_window=1024, tied_embeddings=True)
    (path,) = write_gguf(tmp_path / "tiny-gemma3.gguf", spec)
    full, swa = 8192, 1536  # pad(8000, 256); pad(1024 + 512, 256)
    row, _ = cpu_row(path, machine(), context=8000, kv_type_k="f16", kv_type_v="f16")
    assert row.kv_bytes == (2 * full + 10 * swa) * (32 * 2) * 2
    row, _ = cpu_row(path, machine(), context=8000, kv_type_k="q8_0", kv_type_v="q8_0", flash_attention=True)
    assert row.kv_bytes == (2 * full + 10 * swa) * (32 // 32 * 34) * 2


def test_q4_0_cache_on_a_long_context(tmp_path: Path) -> None:
    spec = GGUFSpec(n_layers=3, n_embd=512, n_head=8, n_head_kv=4)  # 4 KV heads of 64: 256 values a row
    (path,) = write_gguf(tmp_path / "tiny.gguf", spec)
    row, _ = cpu_row(path, machine(), context=32768, kv_type_k="q4_0", kv_type_v="q4_0", flash_attention=True)
    assert row.kv_bytes == 3 * 32768 * (256 // 32 * 18) * 2


def test_large_vocabulary_compute_buffer_is_the_logits_of_a_ubatch_plus_two_activations(tmp_path: Path) -> None:
    # llama.cpp reserves the graph with every token of the ubatch an output: 4096 x 512 f32 logits (8 MiB),
    # above the layer phase and the f32 mask of 2048 x 512 (4 MiB); two 512 x 64 f32 activations stay live
    spec = GGUFSpec(n_layers=2, n_embd=64, n_head=4, n_head_kv=2, n_vocab=4096)
    (path,) = write_gguf(tmp_path / "tiny-vocab.gguf", spec)
    row, _ = cpu_row(path, machine(), context=2048, flash_attention=True)
    assert row.compute_bytes == 4096 * 512 * 4 + 2 * 512 * 64 * 4
    assert row.output_bytes == 4096 * 4  # one sequence's logits row


def test_parallel_slots_get_one_kv_stream_each_with_its_own_window(tmp_path: Path) -> None:
    # -np 3 without --kv-unified: n_ctx 10000 -> 10240 -> 3 streams of pad(10240 // 3, 256) = 3584 cells;
    # a sliding layer keeps pad(min(3584, 1024 + 512), 256) = 1536 cells per stream
    spec = GGUFSpec(arch="gemma3", n_layers=12, sliding_window=1024, tied_embeddings=True)
    (path,) = write_gguf(tmp_path / "tiny-gemma3.gguf", spec)
    row, option = cpu_row(path, machine(), context=10000, parallel=3)
    assert row.kv_bytes == 3 * (2 * 3584 + 10 * 1536) * (32 * 2) * 2
    assert row.output_bytes == 3 * 256 * 4  # one logits row per sequence
    assert "-np" in option.llama_cpp_argv and "--kv-unified" not in option.llama_cpp_argv


def test_attention_scores_without_flash_attention_span_one_stream(tmp_path: Path) -> None:
    # without flash attention the f32 scores are n_kv x n_ubatch x n_head and the f32 mask n_kv x n_ubatch, where
    # n_kv is one stream's cells: 4 slots at 16384 tokens score 4096 cells, not 16384
    spec = GGUFSpec(n_layers=2, n_embd=64, n_head=4, n_head_kv=2)
    (path,) = write_gguf(tmp_path / "tiny.gguf", spec)
    one, _ = cpu_row(path, machine(), context=16384, flash_attention=False, parallel=1)
    four, _ = cpu_row(path, machine(), context=16384, flash_attention=False, parallel=4)
    assert one.compute_bytes - four.compute_bytes == (16384 - 4096) * 512 * (4 * 4 + 4)


def test_without_mmap_the_repacked_tensors_move_out_of_the_cpu_buffer_instead_of_being_copied(q4_model: Path) -> None:
    row, option = cpu_row(q4_model, machine(), context=2048, mmap=False)
    assert row.mapped_weights_bytes == 0
    # CPU buffer (token_embd, output, norms) + CPU_REPACK (the block matrices): every tensor exactly once
    assert row.weights_bytes == 2 * Q4_OUTPUT + 2 * (Q4_BLOCK_MATRICES + 2 * 256 * 4) + 256 * 4
    assert "--no-mmap" in option.llama_cpp_argv


def _deepseek2(tmp_path: Path, name: str, **kw) -> Path:
    base = dict(arch="deepseek2", n_layers=3, n_embd=128, n_head=4, kv_lora_rank=64)
    (path,) = write_gguf(tmp_path / name, GGUFSpec(**{**base, **kw}))
    return path


def test_mla_files_cache_one_latent_row_per_token_and_no_v(tmp_path: Path) -> None:
    # current conversions: one KV head of key_length = kv_lora_rank + rope (96 here), and the *_mla keys
    path = _deepseek2(
        tmp_path,
        "mla.gguf",
        n_head_kv=1,
        head_dim=96,
        extra_kv={"deepseek2.attention.key_length_mla": 48, "deepseek2.attention.value_length_mla": 32},
    )
    row, _ = cpu_row(path, machine(), context=4096)
    assert row.kv_bytes == 3 * 4096 * 96 * 2


def test_deepseek_files_without_mla_keys_cache_every_head(tmp_path: Path) -> None:
    # older conversions (no key_length_mla, one attn_kv_b): llama.cpp runs plain multi-head attention and caches
    # all 4 heads' K (48 values) and V (48 values) per token
    path = _deepseek2(tmp_path, "old.gguf", n_head_kv=4, head_dim=48)
    row, _ = cpu_row(path, machine(), context=4096)
    assert row.kv_bytes == 3 * 4096 * (4 * 48 + 4 * 48) * 2


def _glm_with_nextn(tmp_path: Path) -> Path:
    """A glm4moe file of 3 blocks whose last one is a NextN head (f32 tensors, as GLM-4.5 files store it)."""
    spec = GGUFSpec(arch="glm4moe", n_layers=3, n_embd=64, n_head=4, n_head_kv=2, experts=4, experts_used=2)
    path = tmp_path / "glm-nextn.gguf"
    w = GGUFWriter(path, "glm4moe")
    w.add_block_count(3)
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_expert_count(4)
    w.add_expert_used_count(2)
    w.add_expert_feed_forward_length(32)
    w.add_uint32("glm4moe.nextn_predict_layers", 1)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(256)])
    nextn = [("blk.2.nextn.eh_proj.weight", (128, 64), False), ("blk.2.nextn.enorm.weight", (64,), False)]
    for name, shape, _ in expected_tensors(spec) + nextn:
        w.add_tensor(name, np.zeros(tuple(reversed(shape)), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_a_nextn_block_gets_no_kv_cache(tmp_path: Path) -> None:
    # blocks 0 and 1 only: 2 KV heads of 16 values for K and for V, f16
    row, _ = cpu_row(_glm_with_nextn(tmp_path), machine(), context=4096)
    assert row.kv_bytes == 2 * 4096 * (2 * 16 + 2 * 16) * 2


def test_the_catalog_knows_the_nextn_block_without_a_tensor_list() -> None:
    """GLM-4.5-Air from the bundled catalog (no header): block 46 of 47 is the NextN head, with no KV cache."""
    from dataclasses import replace

    from advisor.plan.memory import kv_bytes_by_layer, nextn_layers

    model = resolve_model("glm-4.5-air")
    facts = model.facts
    assert not facts.tensors and facts.block_count == 47 and facts.nextn_predict_layers == 1
    assert nextn_layers(facts) == {46}
    with_head = kv_bytes_by_layer(facts, 8192)
    without = kv_bytes_by_layer(replace(facts, nextn_predict_layers=0), 8192)
    assert with_head[46] == 0 and without[46] > 0
    assert sum(with_head) == sum(without) * 46 // 47  # every block's cache is the same size here


def test_a_nextn_block_is_never_offloaded(tmp_path: Path) -> None:
    gpu = Gpu(vendor="nvidia", name="RTX 4090", vram_total_bytes=24 * GIB, vram_free_bytes=24 * GIB)
    (option,) = plan(resolve_model(str(_glm_with_nextn(tmp_path))), machine(gpus=(gpu,)), PlanOptions()).options
    assert option.verdict is Verdict.GPU
    block2 = (
        2 * 64 * 4  # attn_norm, ffn_norm
        + (64 * 64 + 2 * 64 * 32 + 64 * 64) * 4  # q, k, v, output
        + 64 * 4 * 4  # router
        + 3 * 64 * 32 * 4 * 4  # three expert stacks of 4 experts
        + (128 * 64 + 64) * 4  # nextn.eh_proj, nextn.enorm
    )
    cpu = option.memory[0]
    assert cpu.weights_bytes == 64 * 256 * 4 + block2  # token_embd and the NextN block stay in the file mapping
    assert cpu.mapped_weights_bytes == cpu.weights_bytes
