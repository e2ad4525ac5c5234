"""Issue 11's cases: plan across machines with llama.cpp RPC when one machine is not enough."""

from __future__ import annotations

import shlex
from dataclasses import replace

from advisor.hardware.types import Gpu
from advisor.model.types import LayerWeights, WeightMap
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions, Verdict
from tests.core.plan.builders import GIB, dense_facts, machine, minimax_model, model_of, nvidia, option

CTX = PlanOptions(context=32768)


def strix_halo(label: str):
    gpu = Gpu(
        vendor="amd",
        name="Radeon 8060S",
        unified_memory=True,
        working_set_limit_bytes=120 * GIB,
        bandwidth_gbps=256.0,
    )
    return replace(machine(128, gpus=(gpu,)), hostname=label)


def test_two_128_gb_unified_machines_run_ud_q6_k_xl_as_a_cluster():
    head, worker = strix_halo("halo-a"), strix_halo("halo-b")
    alone = plan(minimax_model(), head, CTX).option("UD-Q6_K_XL")
    assert alone.verdict is Verdict.DISK_STREAM
    o = plan(minimax_model(), [head, worker], CTX).option("UD-Q6_K_XL")
    assert o.verdict is Verdict.RPC_CLUSTER
    assert o.placement.rpc_servers == ("halo-b:50052",)
    # llama.cpp lists RPC devices first, then the head's own GPU
    assert [r.device for r in o.memory] == ["CPU", "RPC0", "ROCm0"]
    assert o.memory[1].machine == "halo-b" and o.memory[2].machine is None
    for row in o.memory[1:]:
        assert row.weights_bytes > 80 * GIB and row.total_bytes <= row.capacity_bytes
    argv = shlex.split(o.llama_cpp_command)
    assert argv[argv.index("--rpc") + 1] == "halo-b:50052"
    assert len(argv[argv.index("-ts") + 1].split(",")) == 2
    roles = {c.role: c for c in o.machine_commands}
    assert shlex.split(roles["rpc-worker"].command)[:5] == ["rpc-server", "-H", "halo-b", "-p", "50052"]
    assert "open network" in roles["rpc-worker"].note
    assert "21801" not in roles["head"].command and roles["head"].command == o.llama_cpp_command
    assert o.decode_tps is None  # no single-machine speed figure for a cluster


def _dense_70b():
    facts = dense_facts(
        block_count=80,
        embedding_length=8192,
        head_count=(64,) * 80,
        head_count_kv=(8,) * 80,
        key_length=128,
        value_length=128,
        feed_forward_length=28672,
        vocab_size=128256,
        context_length=131072,
    )
    layer = int(42.5e9 / 81)
    weights = WeightMap(
        layers=tuple(LayerWeights(dense_bytes=layer) for _ in range(80)),
        token_embd_bytes=layer // 2,
        output_bytes=layer // 2,
    )
    return model_of(facts, option("Q4_K_M", weights), name="llama-70b")


def test_three_24_gb_gpu_machines_hold_a_dense_70b():
    head = machine(64, gpus=(nvidia(),))
    workers = [replace(machine(32, gpus=(nvidia(),)), label=f"box{i}") for i in (1, 2)]
    alone = plan(_dense_70b(), head, PlanOptions(context=8192)).options[0]
    assert alone.verdict is Verdict.PARTIAL_OFFLOAD
    o = plan(_dense_70b(), [head, *workers], PlanOptions(context=8192)).options[0]
    assert o.verdict is Verdict.RPC_CLUSTER
    assert o.placement.rpc_servers == ("box1:50052", "box2:50052")
    assert [r.device for r in o.memory] == ["CPU", "RPC0", "RPC1", "CUDA0"]
    assert sum(r.weights_bytes for r in o.memory[1:]) > 40e9
    assert len(o.machine_commands) == 3


def test_cluster_that_cannot_hold_bf16_is_impossible_with_the_shortfall():
    head, worker = strix_halo("halo-a"), strix_halo("halo-b")
    o = plan(minimax_model(), [head, worker], CTX).option("BF16")
    assert o.verdict is Verdict.IMPOSSIBLE
    assert "short" in o.verdict_reason and "halo-b" in o.verdict_reason
    assert o.llama_cpp_command == ""


def test_head_that_holds_it_alone_ignores_workers():
    m = minimax_model()
    o = plan(m, [strix_halo("a"), strix_halo("b")], CTX).option("UD-IQ1_M")
    assert o.verdict is Verdict.UNIFIED and o.placement.rpc_servers == ()
