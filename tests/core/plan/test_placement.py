"""Placement choices on small models and machines built in code: each verdict, and both sides of each limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.format import context_tokens
from advisor.model.types import LayerWeights, WeightMap
from advisor.plan.memory import MIB, MemoryRequest
from advisor.plan.placement import Fit, choose_placement, evaluate, max_context
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions, Verdict
from tests.core.plan.builders import GB, GIB, apple, dense_facts, dense_weights, machine, model_of, nvidia, option

OPTS = PlanOptions()


def _choose(weights, hw, context=4096, facts=None):
    facts = facts or dense_facts()
    return choose_placement(facts, weights, hw, MemoryRequest(context=context), OPTS)


def test_small_model_fits_one_gpu():
    c = _choose(dense_weights(500 * MIB), machine(32, gpus=(nvidia(vram_gib=8),)))
    assert c.verdict is Verdict.GPU
    assert c.layout.n_gpu_layers == 5  # 4 blocks + the output layer
    assert c.memory[1].weights_bytes == 4 * 500 * MIB + 10 * MIB


def test_two_gpus_split_in_proportion_to_free_memory():
    gpus = (nvidia(vram_gib=8, index=0), nvidia(vram_gib=16, index=1))
    c = _choose(dense_weights(4 * GIB), machine(64, gpus=gpus))
    assert c.verdict is Verdict.MULTI_GPU
    ts = c.layout.tensor_split
    assert ts is not None and ts[1] > ts[0]
    assert ts == (1.0, 4.0)  # whole layers: a split by free memory (6.3 : 14.3 GiB) would overload CUDA0
    assert all(r.total_bytes <= r.capacity_bytes for r in c.memory[1:])


def test_single_gpu_preferred_on_multi_gpu_machine_when_it_fits():
    gpus = (nvidia(vram_gib=8, index=0), nvidia(vram_gib=24, index=1))
    c = _choose(dense_weights(3 * GIB), machine(64, gpus=gpus))
    assert c.verdict is Verdict.GPU
    assert c.layout.main_gpu == 1 and c.memory[1].device == "CUDA1"


def test_partial_offload_takes_the_most_layers_that_fit():
    hw = machine(64, gpus=(nvidia(vram_gib=8),))
    weights = dense_weights(3 * GIB)
    c = _choose(weights, hw)
    assert c.verdict is Verdict.PARTIAL_OFFLOAD
    ngl = c.layout.n_gpu_layers
    assert 1 <= ngl < 5
    rows, _ = evaluate(dense_facts(), weights, replace(c.layout, n_gpu_layers=ngl + 1), MemoryRequest(4096))
    assert rows[1].total_bytes > rows[1].capacity_bytes  # one more layer would not fit


def test_cpu_when_no_gpu():
    c = _choose(dense_weights(1 * GIB), machine(32))
    assert c.verdict is Verdict.CPU
    assert len(c.memory) == 1


def test_disk_stream_when_mapped_weights_exceed_ram():
    c = _choose(dense_weights(5 * GIB), machine(16))
    assert c.verdict is Verdict.DISK_STREAM
    assert c.fit is Fit.STREAM
    assert "streamed from disk" in c.reason


def test_no_mmap_turns_disk_stream_into_impossible():
    facts = dense_facts()
    c = choose_placement(facts, dense_weights(5 * GIB), machine(16), MemoryRequest(context=4096, mmap=False), OPTS)
    assert c.verdict is Verdict.IMPOSSIBLE


def test_impossible_when_kv_alone_exceeds_ram():
    facts = dense_facts(context_length=10_000_000, head_count_kv=(8,) * 4)
    m = model_of(facts, option("Q4", dense_weights(10 * MIB)))
    p = plan(m, machine(2), PlanOptions(context=4_000_000))
    o = p.options[0]
    assert o.verdict is Verdict.IMPOSSIBLE
    assert 0 < o.max_context["f16"] < 4_000_000
    # the same context figure as the options table: whole K, rounded down
    assert "KV cache" in o.verdict_reason
    assert f"at most {context_tokens(o.max_context['f16'])} tokens would fit" in o.verdict_reason
    assert o.llama_cpp_command == ""
    assert p.recommended is None


def test_impossible_when_files_do_not_fit_on_disk():
    m = model_of(dense_facts(), option("Q4", dense_weights(100 * MIB)))
    o = plan(m, machine(32, disk_free=100 * MIB)).options[0]
    assert o.verdict is Verdict.IMPOSSIBLE and "disk" in o.verdict_reason


def test_unified_memory_respects_working_set_limit():
    weights = dense_weights(10 * GIB)
    fits = _choose(weights, machine(64, gpus=(apple(64, limit_gib=48),), os="macos"))
    assert fits.verdict is Verdict.UNIFIED and fits.memory[1].device == "Metal"
    tight = _choose(weights, machine(64, gpus=(apple(64, limit_gib=24),), os="macos"))
    assert tight.verdict is Verdict.PARTIAL_OFFLOAD
    assert tight.memory[1].total_bytes <= 24 * GIB


def _moe_facts():
    return dense_facts(expert_count=8, expert_used_count=2, expert_feed_forward_length=256)


def _moe_weights():
    return WeightMap(
        layers=tuple(LayerWeights(dense_bytes=200 * MIB, expert_bytes=2 * GIB) for _ in range(4)),
        token_embd_bytes=10 * MIB,
        output_bytes=10 * MIB,
    )


def test_moe_keeps_smallest_number_of_expert_layers_in_ram():
    facts = _moe_facts()
    weights = _moe_weights()
    hw = machine(64, gpus=(nvidia(vram_gib=8),))
    c = _choose(weights, hw, facts=facts)
    assert c.verdict is Verdict.EXPERTS_ON_CPU
    n = c.layout.n_cpu_moe
    assert 1 <= n < 4 and c.layout.n_gpu_layers == 5
    fewer, _ = evaluate(facts, weights, replace(c.layout, n_cpu_moe=n - 1), MemoryRequest(4096))
    assert fewer[1].total_bytes > fewer[1].capacity_bytes


def test_max_context_is_the_largest_that_fits():
    facts = dense_facts(context_length=1_000_000, head_count_kv=(8,) * 4, key_length=128, value_length=128)
    weights = dense_weights(500 * MIB)
    hw = machine(32, gpus=(nvidia(vram_gib=8),))
    c = _choose(weights, hw, facts=facts)
    best = max_context(facts, weights, c.layout, MemoryRequest(4096), allow_stream=False)
    assert best % 256 == 0 and best > 4096
    _, fit_at = evaluate(facts, weights, c.layout, MemoryRequest(best))
    _, fit_above = evaluate(facts, weights, c.layout, MemoryRequest(best + 256))
    assert fit_at is Fit.FITS and fit_above is not Fit.FITS


def test_max_context_never_exceeds_trained_length():
    m = model_of(dense_facts(), option("Q4", dense_weights(10 * MIB)))
    o = plan(m, machine(32)).options[0]
    assert o.max_context == {"f16": 8192, "q8_0": 8192}


def test_q8_0_cache_fits_more_context_than_f16():
    facts = dense_facts(context_length=1_000_000, head_count_kv=(8,) * 4, key_length=128, value_length=128)
    m = model_of(facts, option("Q4", dense_weights(500 * MIB)))
    o = plan(m, machine(32, gpus=(nvidia(vram_gib=8),))).options[0]
    assert o.max_context["q8_0"] > o.max_context["f16"] * 1.5


@pytest.mark.parametrize("vram", [4, 6, 12, 24])
def test_every_gpu_row_fits_its_capacity(vram):
    m = model_of(_moe_facts(), option("Q4", _moe_weights()))
    o = plan(m, machine(64, gpus=(nvidia(vram_gib=vram),))).options[0]
    assert o.verdict.runs
    for row in o.memory[1:]:
        assert row.total_bytes <= row.capacity_bytes


def test_disk_size_in_gb_used_for_file_set():
    m = model_of(dense_facts(), option("Q4", dense_weights(100 * MIB)))
    assert plan(m, machine(32, disk_free=1 * GB)).options[0].verdict is Verdict.CPU


def test_quantized_v_cache_without_flash_attention_is_refused():
    from advisor.plan.memory import PlanInputError

    m = model_of(dense_facts(), option("Q4", dense_weights(10 * MIB)))
    with pytest.raises(PlanInputError, match="flash attention"):
        plan(m, machine(32), PlanOptions(kv_type_k="q8_0", kv_type_v="q8_0", flash_attention=False))
    o = plan(m, machine(32), PlanOptions(kv_type_k="q8_0", kv_type_v="f16", flash_attention=False)).options[0]
    assert "-fa" in o.llama_cpp_argv and o.llama_cpp_argv[o.llama_cpp_argv.index("-fa") + 1] == "off"


def test_several_machines_head_first():
    m = model_of(dense_facts(), option("Q4", dense_weights(10 * MIB)))
    head, worker = machine(32, gpus=(nvidia(),)), machine(64)
    p = plan(m, [head, worker])
    assert p.hardware == (head, worker)
    assert p.to_dict()["hardware"] == head.to_dict() and len(p.to_dict()["machines"]) == 2
    assert p.options[0].verdict is Verdict.GPU  # the head holds it: the worker is not used
    cpu_head = plan(m, [machine(32), machine(64, gpus=(nvidia(),))]).options[0]
    assert cpu_head.verdict is Verdict.RPC_CLUSTER  # a CPU-only head borrows the worker's GPU


def test_unknown_quant_is_a_clear_error():
    from advisor.errors import RigfitError

    m = model_of(dense_facts(), option("Q4", dense_weights(10 * MIB)))
    with pytest.raises(RigfitError, match="no quantization"):
        plan(m, machine(32), PlanOptions(quants=("Q9",)))


def test_default_context_is_trained_length_capped():
    big = model_of(dense_facts(context_length=131072), option("Q4", dense_weights(10 * MIB)))
    small = model_of(dense_facts(context_length=2048), option("Q4", dense_weights(10 * MIB)))
    assert plan(big, machine(32)).context == 32768
    assert plan(small, machine(32)).context == 2048
