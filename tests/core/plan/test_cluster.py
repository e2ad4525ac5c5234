"""Issue 11's cases: plan across machines with llama.cpp RPC when one machine is not enough."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import replace

import pytest

from advisor.cli import main
from advisor.errors import RigfitError
from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory
from advisor.model.catalog import load_catalog_model
from advisor.model.types import LayerWeights, WeightMap
from advisor.plan.cluster import (
    cluster_caveats,
    link_for,
    network_cost,
    network_spec,
    parse_machine_spec,
    rows_by_machine,
)
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions, Verdict
from tests.core.plan.builders import GB, GIB, dense_facts, machine, minimax_model, model_of, nvidia, option

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
    # the worker's share of unified memory is not the head's: no working-set warning for a split that fits
    assert "headroom.apple-working-set" not in {r.id for r in o.risks}


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
    # no context figure from a single-machine search that does not apply to the cluster
    assert o.max_context == {} and "would fit" not in o.verdict_reason


def test_head_that_holds_it_alone_ignores_workers():
    m = minimax_model()
    o = plan(m, [strix_halo("a"), strix_halo("b")], CTX).option("UD-IQ1_M")
    assert o.verdict is Verdict.UNIFIED and o.placement.rpc_servers == ()


# ------------------------------------------------------------------------------------------------------------
# rpc (issue 11): catalog models on realistic machines, the network model, commands, caveats and the CLI


def framework_desktop(label: str) -> Hardware:
    """A 128 GB Strix Halo box (Ryzen AI Max+ 395, Radeon 8060S gfx1151, 126,976 MiB GTT as in llama.cpp #21801)."""
    return Hardware(
        cpu=Cpu(name="AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", vendor="amd", arch="x86_64", physical_cores=16,
                logical_cores=32, features=("avx2", "avx512f")),
        memory=Memory(total_bytes=128 * GIB, bandwidth_gbps=256.0, bandwidth_source="spec"),
        gpus=(
            Gpu(vendor="amd", name="Radeon 8060S Graphics", architecture="gfx1151", unified_memory=True,
                working_set_limit_bytes=126976 * 2**20, bandwidth_gbps=256.0),
        ),
        disk=Disk(path="/models", free_bytes=1800 * GB, read_gbps=6.0),
        llama_cpp=LlamaCpp(build="b8763", backend="rocm"),
        os="linux",
        label=label,
    )  # fmt: skip


def rtx3090_box(label: str, ram_gib: int = 64) -> Hardware:
    gpu = Gpu(
        vendor="nvidia",
        name="NVIDIA GeForce RTX 3090",
        vram_total_bytes=24576 * 2**20,
        vram_free_bytes=24000 * 2**20,
        bandwidth_gbps=936.0,
        compute_capability="8.6",
        architecture="ampere",
    )
    return Hardware(
        cpu=Cpu(name="AMD Ryzen 9 5950X", vendor="amd", arch="x86_64", physical_cores=16, logical_cores=32,
                features=("avx2",)),
        memory=Memory(total_bytes=ram_gib * GIB, bandwidth_gbps=50.0),
        gpus=(gpu,),
        disk=Disk(path="/models", free_bytes=2000 * GB),
        llama_cpp=LlamaCpp(build="b8763", backend="cuda", cuda_version="12.8"),
        os="linux",
        label=label,
    )  # fmt: skip


M27_CTX = PlanOptions(context=32768, quants=("UD-Q6_K_XL", "BF16", "UD-IQ3_XXS"))


def test_minimax_ud_q6_k_xl_on_two_framework_desktops_from_the_catalog():
    m27 = load_catalog_model("minimax-m2.7")
    head, worker = framework_desktop("halo-a"), replace(framework_desktop("halo-b"), hostname="10.0.0.2")
    assert plan(m27, head, M27_CTX).option("UD-Q6_K_XL").verdict is Verdict.DISK_STREAM
    o = plan(m27, [head, worker], M27_CTX).option("UD-Q6_K_XL")
    assert o.verdict is Verdict.RPC_CLUSTER
    assert o.placement.rpc_servers == ("10.0.0.2:50052",)
    assert [(r.device, r.machine) for r in o.memory] == [("CPU", None), ("RPC0", "halo-b"), ("ROCm0", None)]
    # split in proportion to free memory: two equal boxes get nearly equal halves of the 207 GB
    worker_row, head_row = o.memory[1], o.memory[2]
    assert worker_row.weights_bytes + head_row.weights_bytes + o.memory[0].weights_bytes >= 0.99 * o.size_bytes
    assert abs(worker_row.weights_bytes - head_row.weights_bytes) < 0.1 * o.size_bytes
    for row in (worker_row, head_row):
        assert row.total_bytes <= row.capacity_bytes
    argv = shlex.split(o.llama_cpp_command)
    ts = [float(x) for x in argv[argv.index("-ts") + 1].split(",")]
    assert len(ts) == 2 and ts[0] == ts[1]  # RPC0 first, then ROCm0
    assert argv[argv.index("--rpc") + 1] == "10.0.0.2:50052" and argv[argv.index("-ngl") + 1] == "63"
    worker_cmd, head_cmd = o.machine_commands
    assert (worker_cmd.machine, worker_cmd.role, head_cmd.machine, head_cmd.role) == (
        "halo-b", "rpc-worker", "halo-a", "head")  # fmt: skip
    assert shlex.split(worker_cmd.command) == ["rpc-server", "-H", "10.0.0.2", "-p", "50052", "-c"]
    assert "RPC0: " in worker_cmd.note and f"{worker_row.weights_bytes / GIB:.1f} GiB" in worker_cmd.note
    assert "no -m" in worker_cmd.note and "authentication" in worker_cmd.note
    assert head_cmd.command == o.llama_cpp_command and "21801" in head_cmd.note
    ids = [r.id for r in o.risks]
    assert {"rpc.unauthenticated", "rpc.fit-oom", "rpc.first-load"} <= set(ids)
    assert all(r.source and r.source.startswith("https://") for r in o.risks if r.id.startswith("rpc."))
    ranks = [r.severity.rank for r in o.risks]
    assert ranks == sorted(ranks, reverse=True)


def test_dense_llama_70b_q4_k_m_over_three_24_gb_gpu_machines():
    llama = load_catalog_model("llama-3.3-70b-instruct")
    options = PlanOptions(context=8192, quants=("Q4_K_M",))
    boxes = [rtx3090_box("gpu-a"), rtx3090_box("gpu-b"), rtx3090_box("gpu-c")]
    assert plan(llama, boxes[0], options).options[0].verdict is Verdict.PARTIAL_OFFLOAD
    o = plan(llama, boxes, options).options[0]
    assert o.verdict is Verdict.RPC_CLUSTER
    assert o.placement.rpc_servers == ("gpu-b:50052", "gpu-c:50052")
    assert [r.device for r in o.memory] == ["CPU", "RPC0", "RPC1", "CUDA0"]
    argv = shlex.split(o.llama_cpp_command)
    ts = [float(x) for x in argv[argv.index("-ts") + 1].split(",")]
    assert len(ts) == 3  # one share per GPU, RPC devices first
    gpu_rows = o.memory[1:]
    assert all(r.weights_bytes > 12 * GIB and r.total_bytes <= r.capacity_bytes for r in gpu_rows)
    assert [c.machine for c in o.machine_commands] == ["gpu-b", "gpu-c", "gpu-a"]
    assert [shlex.split(c.command)[2] for c in o.machine_commands[:2]] == ["gpu-b", "gpu-c"]


def test_bf16_needs_more_than_two_boxes_and_says_how_much():
    m27 = load_catalog_model("minimax-m2.7")
    o = plan(m27, [framework_desktop("halo-a"), framework_desktop("halo-b")], M27_CTX).option("BF16")
    assert o.verdict is Verdict.IMPOSSIBLE
    short = re.search(r"([\d.]+) GiB short", o.verdict_reason)
    assert short and float(short.group(1)) > 150  # 457 GB against about 2 x 119 GiB of pools
    assert "halo-b" in o.verdict_reason
    assert o.machine_commands == () and o.llama_cpp_command == ""
    assert not any(r.id.startswith("rpc.") for r in o.risks)


def test_head_alone_is_planned_normally_when_it_suffices():
    m27 = load_catalog_model("minimax-m2.7")
    o = plan(m27, [framework_desktop("halo-a"), framework_desktop("halo-b")], M27_CTX).option("UD-IQ3_XXS")
    assert o.verdict is Verdict.UNIFIED
    assert o.placement.rpc_servers == () and o.machine_commands == ()
    assert "--rpc" not in o.llama_cpp_command


# ------------------------------------------------------------------------------------------- network model


def test_network_cost_per_worker_counts_round_trips_overhead_and_the_hidden_state():
    costs = network_spec().costs
    gbe = link_for(PlanOptions(link="1gbe"))
    one = network_cost(3072, 1, gbe, 512, costs)
    per_token = 2 * 3072 * 4  # hidden state in and out, F32
    expected = gbe.rtt_ms / 1e3 + costs.overhead_ms_per_worker / 1e3 + per_token / (1e9 * 0.8 / 8)
    assert one.bytes_per_token == per_token
    assert one.decode_seconds == pytest.approx(expected)
    # prompt processing carries a whole micro-batch per round trip
    assert one.prefill_seconds_per_ubatch == pytest.approx(expected + per_token * 511 / (1e9 * 0.8 / 8))
    two = network_cost(3072, 2, gbe, 512, costs)
    assert two.decode_seconds == pytest.approx(2 * one.decode_seconds)
    fast = network_cost(3072, 1, link_for(PlanOptions(link="10gbe")), 512, costs)
    assert fast.prefill_seconds_per_token < one.prefill_seconds_per_token / 5


def test_user_link_figures_replace_the_preset_and_bad_ones_are_refused():
    mine = link_for(PlanOptions(link="usb4", link_gbps=12.5, link_latency_ms=0.05))
    assert mine.bytes_per_second == pytest.approx(12.5e9 / 8) and mine.rtt_ms == 0.05
    assert link_for(PlanOptions()).name == network_spec().default_link
    for bad in (PlanOptions(link="carrier-pigeon"), PlanOptions(link_gbps=0), PlanOptions(link_latency_ms=-1)):
        with pytest.raises(RigfitError):
            link_for(bad)


def test_every_link_preset_and_caveat_carries_a_source():
    for link in network_spec().links.values():
        assert link.source.startswith("https://") and link.gbps > 0 and 0 < link.goodput_share <= 1
    assert {c.id for c in cluster_caveats()} >= {"rpc.unauthenticated", "rpc.fit-oom"}
    assert all(c.source.startswith("https://") and c.remedy for c in cluster_caveats())


def test_cluster_speed_adds_the_network_to_each_machines_share():
    speed = pytest.importorskip("advisor.plan.speed")
    m27 = load_catalog_model("minimax-m2.7")
    machines = [framework_desktop("halo-a"), framework_desktop("halo-b")]
    slow = plan(m27, machines, replace(M27_CTX, link="1gbe")).option("UD-Q6_K_XL")
    fast = plan(m27, machines, replace(M27_CTX, link="10gbe")).option("UD-Q6_K_XL")
    assert slow.decode_tps is not None and "RPC worker" in slow.estimate_basis
    assert slow.decode_tps.low < slow.decode_tps.mid < slow.decode_tps.high
    assert fast.prefill_tps.mid > slow.prefill_tps.mid and fast.decode_tps.mid >= slow.decode_tps.mid
    assert slow.decode_tps_at_context.mid < slow.decode_tps.mid  # KV reads grow with depth
    # the devices alone (no network) would be faster than the cluster by exactly the network's share
    model = speed.default_speed_model()
    groups = rows_by_machine(slow.memory)
    device_seconds = sum(
        speed.decode_seconds_per_token(speed.device_work(rows, hw, model), model, speed.BENCH_GEN_TOKENS / 2, 6.0)
        for hw, rows in ((machines[0], groups["head"]), (machines[1], groups["halo-b"]))
    )
    net = network_cost(3072, 1, link_for(PlanOptions(link="1gbe")), 512, network_spec().costs)
    mid = model.decode_spread[1]
    assert slow.decode_tps.mid == pytest.approx(1 / (device_seconds / mid + net.decode_seconds), rel=0.01)


# ------------------------------------------------------------------------------------------------------- CLI


def test_machine_specs_name_file_and_address():
    assert parse_machine_spec("w.json") == (None, None, "w.json")
    assert parse_machine_spec("worker1=w.json") == ("worker1", None, "w.json")
    assert parse_machine_spec("worker1@192.168.1.21=w.json") == ("worker1", "192.168.1.21", "w.json")
    with pytest.raises(RigfitError):
        parse_machine_spec("bad name=w.json")


def test_cli_plans_a_cluster_with_labels_and_a_link(tmp_path, capsys):
    head, worker = tmp_path / "head.json", tmp_path / "halo-b.json"
    head.write_text(replace(framework_desktop("x"), label=None).to_json())
    worker.write_text(replace(framework_desktop("x"), label=None).to_json())
    code = main(["plan", "minimax-m2.7", "--quant", "UD-Q6_K_XL", "--context", "32768", "--json", "--link", "10gbe",
                 "--hardware", str(head), "--hardware", f"box2@10.0.0.2={worker}"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    opt = data["options"][0]
    assert opt["verdict"] == "rpc_cluster"
    assert [m["label"] for m in data["machines"]] == ["head", "box2"]
    assert [c["command"].split()[:3] for c in opt["machine_commands"]] == [
        ["rpc-server", "-H", "10.0.0.2"], ["llama-server", "-m", opt["llama_cpp_argv"][2]]]  # fmt: skip
    assert "--rpc 10.0.0.2:50052" in opt["llama_cpp_command"]
    code = main(["plan", "minimax-m2.7", "--quant", "UD-Q6_K_XL", "--hardware", str(head), "--hardware",
                 str(worker)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "on halo-b (rpc-worker): rpc-server -H halo-b -p 50052 -c" in text


def test_cli_refuses_a_bad_link_figure_with_one_message(tmp_path, capsys):
    hw = tmp_path / "a.json"
    hw.write_text(framework_desktop("a").to_json())
    code = main(["plan", "minimax-m2.7", "--hardware", str(hw), "--hardware", str(hw), "--link-gbps", "-3"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rigfit: ") and "Traceback" not in err


def test_a_slow_link_is_named_with_what_a_faster_one_gives():
    pytest.importorskip("advisor.plan.speed")
    llama = load_catalog_model("llama-3.3-70b-instruct")
    boxes = [rtx3090_box("gpu-a"), rtx3090_box("gpu-b"), rtx3090_box("gpu-c")]
    slow = plan(llama, boxes, PlanOptions(context=8192, quants=("Q4_K_M",), link="1gbe")).options[0]
    note = next(r for r in slow.risks if r.id == "rpc.network-bound")
    assert "1 Gigabit Ethernet 4 times" in note.explanation and "USB4" in note.explanation
    fast = plan(llama, boxes, PlanOptions(context=8192, quants=("Q4_K_M",), link_gbps=100, link_latency_ms=0.01))
    assert not any(r.id == "rpc.network-bound" for r in fast.options[0].risks)
    assert fast.options[0].prefill_tps.mid > slow.prefill_tps.mid


def test_a_worker_without_gpu_lends_its_cpu():
    llama = load_catalog_model("llama-3.3-70b-instruct")
    head = rtx3090_box("gpu-a", ram_gib=32)
    worker = replace(rtx3090_box("big-ram", ram_gib=64), gpus=())
    o = plan(llama, [head, worker], PlanOptions(context=8192, quants=("Q4_K_M",))).options[0]
    assert o.verdict is Verdict.RPC_CLUSTER
    assert [(r.device, r.kind, r.machine) for r in o.memory] == [
        ("CPU", "cpu", None), ("RPC0", "cpu", "big-ram"), ("CUDA0", "gpu", None)]  # fmt: skip
    assert o.memory[1].weights_bytes > o.memory[2].weights_bytes  # 60 GiB of RAM take the larger share
    if o.decode_tps is not None:  # with the speed model: the worker's RAM bandwidth bounds the speed
        assert o.decode_tps.mid < 5
