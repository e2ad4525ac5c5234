"""Properties every plan must keep, over many small models and machines (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.model.types import LayerWeights, WeightMap
from advisor.plan.memory import MIB, anonymous_bytes, kv_bytes_by_layer
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions, Verdict
from tests.core.plan.builders import dense_facts, machine, model_of, nvidia, option

IN_MEMORY = {
    Verdict.GPU,
    Verdict.MULTI_GPU,
    Verdict.EXPERTS_ON_CPU,
    Verdict.PARTIAL_OFFLOAD,
    Verdict.UNIFIED,
    Verdict.CPU,
}


@st.composite
def cases(draw):
    n_layers = draw(st.integers(2, 12))
    moe = draw(st.booleans())
    facts = dense_facts(
        block_count=n_layers,
        head_count=(8,) * n_layers,
        head_count_kv=(draw(st.sampled_from([1, 2, 4, 8])),) * n_layers,
        context_length=draw(st.sampled_from([4096, 32768, 131072])),
        expert_count=8 if moe else 0,
        expert_used_count=2 if moe else 0,
        expert_feed_forward_length=256 if moe else None,
    )
    layer_mib = draw(st.integers(10, 3000))
    weights = WeightMap(
        layers=tuple(
            LayerWeights(dense_bytes=layer_mib * MIB // (8 if moe else 1), expert_bytes=layer_mib * MIB if moe else 0)
            for _ in range(n_layers)
        ),
        token_embd_bytes=50 * MIB,
        output_bytes=50 * MIB,
    )
    gpus = tuple(
        nvidia(vram_gib=draw(st.sampled_from([4, 8, 12, 24])), index=i) for i in range(draw(st.integers(0, 2)))
    )
    hw = machine(draw(st.sampled_from([8, 16, 64])), gpus=gpus)
    context = draw(st.sampled_from([2048, 8192, 32768]))
    return model_of(facts, option("Q", weights)), hw, context


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_plan_fits_what_its_verdict_claims(case):
    model, hw, context = case
    o = plan(model, hw, PlanOptions(context=context)).options[0]
    rows = o.memory
    weights = model.options[0].weights
    assert sum(r.weights_bytes for r in rows) == weights.total_bytes
    assert sum(r.kv_bytes for r in rows) == sum(kv_bytes_by_layer(model.facts, context))
    if o.verdict in IN_MEMORY or o.verdict is Verdict.DISK_STREAM:
        for row in rows[1:]:
            assert row.total_bytes <= row.capacity_bytes
        assert anonymous_bytes(rows[0]) <= rows[0].capacity_bytes
    if o.verdict in IN_MEMORY:
        assert rows[0].total_bytes <= rows[0].capacity_bytes
        assert o.max_context["f16"] >= min(context, model.facts.context_length) - 256
    if o.verdict.runs:
        assert o.llama_cpp_argv and o.max_context["q8_0"] >= o.max_context["f16"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.sampled_from([8, 24, 48]))
def test_more_vram_never_puts_fewer_layers_on_the_gpu(case, extra_gib):
    model, hw, context = case
    if len(hw.gpus) != 1:
        return
    small = plan(model, hw, PlanOptions(context=context)).options[0]
    bigger_gpu = nvidia(vram_gib=hw.gpus[0].vram_total_bytes / 2**30 + extra_gib)
    big = plan(model, machine(hw.memory.total_bytes / 2**30, gpus=(bigger_gpu,)), PlanOptions(context=context))
    big = big.options[0]

    def gpu_share(o):
        return sum(r.weights_bytes for r in o.memory[1:]) if o.verdict.runs else -1

    assert gpu_share(big) >= gpu_share(small)
