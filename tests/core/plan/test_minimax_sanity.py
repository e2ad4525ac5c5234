"""Issue 4's sanity cases on MiniMax M2.7 at 32K context with an f16 cache (248 KiB per token, 7.75 GiB)."""

from __future__ import annotations

import json

import pytest

from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions, Verdict
from tests.core.plan.builders import GIB, apple, machine, minimax_model, nvidia

CTX = PlanOptions(context=32768)


def test_rtx_4090_with_128_gb_ram_runs_ud_q4_k_m_with_experts_on_cpu():
    p = plan(minimax_model(), machine(128, gpus=(nvidia(),)), CTX)
    o = p.option("UD-Q4_K_M")
    assert o.verdict is Verdict.EXPERTS_ON_CPU
    assert 0 < o.placement.n_cpu_moe < 62 and o.placement.n_gpu_layers == 63
    _cpu, gpu = o.memory
    assert gpu.kv_bytes == int(7.75 * GIB)
    assert gpu.total_bytes <= gpu.capacity_bytes
    assert "--n-cpu-moe" in o.llama_cpp_argv
    # the same machine, more RAM pressure: BF16 (457 GB) can only stream
    assert p.option("BF16").verdict is Verdict.DISK_STREAM


@pytest.mark.parametrize("ram_gib", [125.5, 128])
def test_rtx_4090_case_holds_for_what_a_128_gb_machine_reports(ram_gib):
    o = plan(minimax_model(), machine(ram_gib, gpus=(nvidia(),)), CTX).option("UD-Q4_K_M")
    assert o.verdict is Verdict.EXPERTS_ON_CPU


def test_16_gb_laptop_without_gpu_streams_or_cannot():
    p = plan(minimax_model(), machine(16), CTX)
    assert {o.verdict for o in p.options} <= {Verdict.DISK_STREAM, Verdict.IMPOSSIBLE}
    small_disk = plan(minimax_model(), machine(16, disk_free=100 * 10**9), CTX)
    assert small_disk.option("BF16").verdict is Verdict.IMPOSSIBLE
    assert small_disk.option("UD-IQ1_M").verdict is Verdict.DISK_STREAM
    # streaming from the page cache needs every weight mapped, so the command turns CPU repacking off
    assert "--no-repack" in p.option("UD-IQ1_M").llama_cpp_argv


def test_512_gb_mac_studio_runs_ud_q6_k_xl_unified():
    o = plan(minimax_model(), machine(512, gpus=(apple(512),), os="macos"), CTX).option("UD-Q6_K_XL")
    assert o.verdict is Verdict.UNIFIED
    assert o.memory[1].device == "Metal"
    assert o.max_context["f16"] == 196608


def test_bf16_on_256_gb_server_streams_from_disk():
    p = plan(minimax_model(), machine(256), CTX)
    assert p.option("BF16").verdict is Verdict.DISK_STREAM
    assert p.option("UD-Q6_K_XL").verdict is Verdict.CPU
    assert "--no-repack" not in p.option("UD-Q6_K_XL").llama_cpp_argv
    assert p.recommended is not None and p.recommended != "BF16"


def test_plan_json_has_every_key_issue_4_lists():
    p = plan(minimax_model(), machine(128, gpus=(nvidia(),)), CTX)
    data = json.loads(p.to_json())
    assert data["schema"] == "rigfit.plan/1"
    for key in ("model", "hardware", "context", "options", "recommended"):
        assert key in data
    for key in ("total_params", "active_params", "licence"):
        assert key in data["model"]
    assert data["context"] == 32768
    opt = next(o for o in data["options"] if o["quant"] == "UD-Q4_K_M")
    for key in (
        "quant",
        "files",
        "size_bytes",
        "verdict",
        "placement",
        "memory",
        "max_context",
        "decode_tps",
        "prefill_tps",
        "risks",
        "llama_cpp_command",
    ):
        assert key in opt, key
    assert set(opt["files"][0]) >= {"path", "size_bytes", "sha256"}
    assert set(opt["placement"]) >= {"n_gpu_layers", "n_cpu_moe", "tensor_split"}
    for key in ("device", "weights_bytes", "kv_bytes", "compute_bytes", "other_bytes", "total_bytes", "capacity_bytes"):
        assert key in opt["memory"]["devices"][0], key
    gpu = opt["memory"]["devices"][1]
    assert gpu["device"] == "CUDA0"
    assert gpu["total_bytes"] == sum(
        gpu[k] for k in ("weights_bytes", "kv_bytes", "compute_bytes", "output_bytes", "other_bytes")
    )
    assert set(opt["max_context"]) == {"f16", "q8_0"}


def test_catalog_minimax_holds_the_same_sanity_cases():
    from advisor.model.catalog import load_catalog_model

    m = load_catalog_model("minimax-m2.7")
    assert plan(m, machine(128, gpus=(nvidia(),)), CTX).option("UD-Q4_K_M").verdict is Verdict.EXPERTS_ON_CPU
    laptop = plan(m, machine(16), CTX)
    assert {o.verdict for o in laptop.options} <= {Verdict.DISK_STREAM, Verdict.IMPOSSIBLE}
    assert plan(m, machine(512, gpus=(apple(512),), os="macos"), CTX).option("UD-Q6_K_XL").verdict is Verdict.UNIFIED
    server = plan(m, machine(256), CTX)
    assert server.option("BF16").verdict is Verdict.DISK_STREAM
    # the risk engine runs inside plan(): M2.7 is not for commercial use without permission
    assert server.model.licence_commercial == "not_allowed"
    assert any(r.id.startswith("licence.") for r in server.option("UD-Q4_K_M").risks)


def test_recommendation_prefers_the_faster_of_two_lossless_quants():
    """On the 512 GB Mac BF16 only partly fits the GPU; Q8_0 is as good (quantize table) and fits: Q8_0 wins."""
    from advisor.model.catalog import load_catalog_model

    p = plan(load_catalog_model("minimax-m2.7"), machine(512, gpus=(apple(512),), os="macos"), CTX)
    assert p.option("BF16").verdict is Verdict.PARTIAL_OFFLOAD
    assert p.option("Q8_0").verdict is Verdict.UNIFIED
    assert p.recommended == "Q8_0"
    assert "usable speed" in p.recommended_reason


def test_recommendation_never_prefers_streaming_to_an_option_in_memory():
    from advisor.model.catalog import load_catalog_model

    p = plan(load_catalog_model("minimax-m2.7"), machine(64, gpus=(nvidia(),)), CTX)
    rec = p.option(p.recommended)
    assert rec.verdict is not Verdict.DISK_STREAM
    assert any(o.verdict is Verdict.DISK_STREAM and o.size_bytes > rec.size_bytes for o in p.options)


def test_speed_model_fills_every_runnable_option():
    from advisor.model.catalog import load_catalog_model

    p = plan(load_catalog_model("minimax-m2.7"), machine(128, gpus=(nvidia(),)), CTX)
    q4 = p.option("UD-Q4_K_M")
    assert q4.decode_tps is not None and q4.prefill_tps is not None and q4.decode_tps_at_context is not None
    assert q4.decode_tps.low <= q4.decode_tps.mid <= q4.decode_tps.high
    assert q4.decode_tps_at_context.mid <= q4.decode_tps.mid  # 32K of KV to read makes decode slower
    assert q4.estimate_basis
    streamed = p.option("BF16")
    assert streamed.verdict is Verdict.DISK_STREAM and streamed.decode_tps.mid < q4.decode_tps.mid / 5
    assert "expected" in p.recommended_reason  # the sentence uses the speed model, not the memory proxy
