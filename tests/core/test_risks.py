"""The risk rules engine and the bundled rules, table-driven: every rule fires on one side of each of its
conditions and stays quiet on the other.

A baseline context triggers no rule at all; each table row changes only what one rule looks at.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory, Nvcc
from advisor.model.types import LicenceInfo, Model, ModelFacts, QuantOption, RepoFile, TensorInfo
from advisor.plan.types import DeviceMemory, OptionPlan, Severity, SpeedRange, Verdict
from advisor.risks.engine import (
    RiskContext,
    RuleDataError,
    evaluate_risks,
    evaluate_rules,
    facts_for,
    format_value,
    load_rules,
    parse_rules,
    render,
)
from advisor.risks.versions import (
    Version,
    parse_cuda_driver_version,
    parse_cuda_toolkit,
    parse_driver_major,
    parse_llama_build,
    parse_version,
)

GiB = 2**30
CUDA_12_4_BUILD = LlamaCpp(build="b8746", backend="cuda", cuda_version="12.4")
HEALTHY_SPEED = SpeedRange(30.0, 40.0, 50.0)
NVIDIA_4090 = Gpu(vendor="nvidia", name="RTX 4090", compute_capability="8.9", driver_version="580.65.06",
                  cuda_driver_version="13.0", vram_total_bytes=24 * GiB)  # fmt: skip


@dataclass(frozen=True)
class Knobs:
    """What a test may change; the defaults describe a healthy machine and a permissively licensed model."""

    arch: str = "llama"
    trained_context: int = 131072
    tensor_types: tuple[str, ...] = ("f32", "q4_k", "q6_k")
    expert_types: tuple[str, ...] = ()
    header_tensors: tuple[TensorInfo, ...] = ()
    size: int = 20 * GiB
    licence: LicenceInfo = field(default_factory=lambda: LicenceInfo(card_license="apache-2.0"))
    gpus: tuple[Gpu, ...] = (NVIDIA_4090,)
    llama_cpp: LlamaCpp | None = CUDA_12_4_BUILD
    nvcc: Nvcc | None = None
    ram_total: int = 128 * GiB
    ram_limit: int | None = None
    is_wsl: bool = False
    disk_free: int | None = 500 * GiB
    with_plan: bool = True
    verdict: Verdict = Verdict.GPU
    vram: tuple[int, int] | None = (12 * GiB, 24 * GiB)  # allocated by llama.cpp, capacity
    vram_reserve: int = 0  # the planner's reserve on the GPU (driver context, --fit margin)
    ram: tuple[int, int] | None = (8 * GiB, 128 * GiB)
    unified: int | None = None  # bytes in a unified pool
    decode_tps: SpeedRange | None = HEALTHY_SPEED
    max_context: dict[str, int] = field(default_factory=lambda: {"f16": 65536, "q8_0": 120000})
    requested_context: int | None = None
    kv_cache_type: str | None = None


def make_ctx(**changes: Any) -> RiskContext:
    k = replace(Knobs(), **changes)
    facts = ModelFacts(
        architecture=k.arch, block_count=32, context_length=k.trained_context, embedding_length=4096,
        vocab_size=128256, head_count=(32,) * 32, head_count_kv=(8,) * 32, key_length=128, value_length=128,
        tensors=k.header_tensors, tensor_types=tuple(sorted({t.type_name for t in k.header_tensors})),
    )  # fmt: skip
    option = QuantOption(
        quant="Q4_K_M", files=(RepoFile("m-Q4_K_M.gguf", k.size),), size_bytes=k.size,
        tensor_types=k.tensor_types, expert_tensor_types=k.expert_types,
    )  # fmt: skip
    model = Model(id="org/m-GGUF", name="M", source="hub", facts=facts, options=(option,), licence=k.licence,
                  repo="org/m-GGUF")  # fmt: skip
    hardware = Hardware(
        cpu=Cpu(), memory=Memory(total_bytes=k.ram_total, limit_bytes=k.ram_limit), gpus=k.gpus,
        disk=Disk(path="/models", free_bytes=k.disk_free) if k.disk_free is not None else None,
        llama_cpp=k.llama_cpp, nvcc=k.nvcc, os="linux", is_wsl=k.is_wsl,
    )  # fmt: skip
    plan = None
    if k.with_plan:
        memory = []
        if k.vram:
            memory.append(
                DeviceMemory(
                    "CUDA0", "gpu", weights_bytes=k.vram[0], other_bytes=k.vram_reserve, capacity_bytes=k.vram[1]
                )
            )
        if k.ram:
            memory.append(DeviceMemory("CPU", "cpu", weights_bytes=k.ram[0], capacity_bytes=k.ram[1]))
        if k.unified:
            memory.append(DeviceMemory("Metal", "unified", weights_bytes=k.unified, capacity_bytes=k.ram_total))
        plan = OptionPlan(
            quant="Q4_K_M", files=option.files, size_bytes=k.size, verdict=k.verdict, verdict_reason="test",
            memory=tuple(memory), context=8192, max_context=k.max_context, decode_tps=k.decode_tps,
        )  # fmt: skip
    return RiskContext(model, option, hardware, plan, k.requested_context, k.kv_cache_type)


def fired(**changes: Any) -> set[str]:
    return {r.id for r in evaluate_risks(make_ctx(**changes))}


def nvidia(**changes: Any) -> tuple[Gpu, ...]:
    return (replace(NVIDIA_4090, **changes),)


def build(cuda: str | None, backend: str | None = "cuda") -> LlamaCpp:
    return LlamaCpp(build="b8746", backend=backend, cuda_version=cuda)


IQ = ("f32", "q6_k", "iq3_s")
APPLE = (Gpu(vendor="apple", name="Apple M3 Max", unified_memory=True, working_set_limit_bytes=48 * GiB),)
M27 = LicenceInfo(card_license="other", card_license_name="modified-mit", base_model="MiniMaxAI/MiniMax-M2.7")

# rule id, changes that make it fire, and one or more changes that each keep it quiet (one per condition).
RULE_TABLE: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    # --- cuda.toml -----------------------------------------------------------------------------------------
    ("cuda.iq-miscompile.build", {"llama_cpp": build("13.2.1"), "tensor_types": IQ}, [
        {"llama_cpp": build("13.2.2"), "tensor_types": IQ},
        {"llama_cpp": build("13.1.1"), "tensor_types": IQ},
        {"llama_cpp": build("13.2"), "tensor_types": IQ},  # patch unknown: the warning instead
        {"llama_cpp": build("13.2.1"), "tensor_types": ("q4_k", "iq4_xs", "iq3_xxs")},
    ]),
    ("cuda.iq-miscompile.build", {"llama_cpp": build("V13.2.51"), "tensor_types": ("iq1_s",)}, [
        {"llama_cpp": build("V13.2.86"), "tensor_types": ("iq1_s",)},
    ]),
    ("cuda.iq-miscompile.build-patch-unknown", {"llama_cpp": build("13.2"), "tensor_types": IQ}, [
        {"llama_cpp": build("13.2.1"), "tensor_types": IQ},
        {"llama_cpp": build("13.3"), "tensor_types": IQ},
        {"llama_cpp": build("13.2"), "tensor_types": ("q4_k",)},
    ]),
    ("cuda.iq-miscompile.nvcc", {"llama_cpp": None, "nvcc": Nvcc("13.2.0"), "tensor_types": ("iq2_s",)}, [
        {"llama_cpp": build("12.4"), "nvcc": Nvcc("13.2.0"), "tensor_types": ("iq2_s",)},
        {"llama_cpp": None, "nvcc": Nvcc("13.2.2"), "tensor_types": ("iq2_s",)},
        {"llama_cpp": None, "nvcc": Nvcc("13.2"), "tensor_types": ("iq2_s",)},
        {"llama_cpp": None, "nvcc": Nvcc("13.2.0"), "tensor_types": ("q2_k",)},
    ]),
    ("cuda.iq-miscompile.nvcc-patch-unknown", {"llama_cpp": None, "nvcc": Nvcc("release 13.2"), "tensor_types": IQ}, [
        {"llama_cpp": None, "nvcc": Nvcc("13.2.1"), "tensor_types": IQ},
        {"llama_cpp": build("12.4"), "nvcc": Nvcc("13.2"), "tensor_types": IQ},
        {"llama_cpp": None, "nvcc": Nvcc("13.2"), "tensor_types": ("q8_0",)},
    ]),
    ("cuda.iq-miscompile.nvcc-rebuild", {"nvcc": Nvcc("13.2.1"), "tensor_types": IQ}, [
        {"nvcc": Nvcc("13.2.2"), "tensor_types": IQ},
        {"nvcc": Nvcc("13.2.1"), "tensor_types": ("q4_k",)},
        {"nvcc": Nvcc("13.2.1"), "tensor_types": IQ, "llama_cpp": build("13.2.1")},  # the build rule instead
    ]),
    ("cuda.iq-miscompile.nvcc-rebuild", {"nvcc": Nvcc("13.2.1"), "tensor_types": IQ, "llama_cpp": build("13.3")}, [
        {"nvcc": Nvcc("13.2.1"), "tensor_types": IQ, "llama_cpp": build("13.2")},
    ]),
    ("cuda.iq-miscompile.unknown-build", {"llama_cpp": None, "tensor_types": IQ}, [
        {"llama_cpp": None, "tensor_types": IQ, "gpus": APPLE},
        {"llama_cpp": None, "tensor_types": ("q4_k",)},
        {"llama_cpp": build(None, backend="vulkan"), "tensor_types": IQ},
        {"llama_cpp": None, "nvcc": Nvcc("12.8.1"), "tensor_types": IQ},
    ]),
    ("cuda.iq-miscompile.unknown-build", {"llama_cpp": build(None, backend="cuda"), "tensor_types": IQ}, [
        {"llama_cpp": build("12.4"), "tensor_types": IQ},
    ]),
    ("cuda.iq-miscompile.types-unknown", {"llama_cpp": build("13.2.1"), "tensor_types": ()}, [
        {"llama_cpp": build("13.2.1"), "tensor_types": ("q4_k",)},
        {"llama_cpp": build("13.2.2"), "tensor_types": ()},
    ]),
    # --- driver.toml ---------------------------------------------------------------------------------------
    ("driver.cuda13-needs-580", {"llama_cpp": build("13.1"), "gpus": nvidia(driver_version="575.51.03")}, [
        {"llama_cpp": build("13.1"), "gpus": nvidia(driver_version="580.65.06")},
        {"llama_cpp": build("12.4"), "gpus": nvidia(driver_version="575.51.03")},
    ]),
    ("driver.cuda13-needs-580", {"llama_cpp": build("13.0"),
                                 "gpus": nvidia(driver_version=None, cuda_driver_version="12.9")}, [
        {"llama_cpp": build("13.0"), "gpus": nvidia(driver_version=None, cuda_driver_version="13.0")},
    ]),
    ("driver.cuda12-needs-525", {"llama_cpp": build("12.4"), "gpus": nvidia(driver_version="470.256.02",
                                                                            cuda_driver_version="11.4")}, [
        {"llama_cpp": build("12.4"), "gpus": nvidia(driver_version="535.183.01", cuda_driver_version="12.2")},
        {"llama_cpp": build("11.8"), "gpus": nvidia(driver_version="470.256.02", cuda_driver_version="11.4")},
    ]),
    ("driver.older-than-toolkit", {"llama_cpp": build("12.8"), "gpus": nvidia(cuda_driver_version="12.4",
                                                                              driver_version="550.1")}, [
        {"llama_cpp": build("12.4.1"), "gpus": nvidia(cuda_driver_version="12.4", driver_version="550.1")},
        {"llama_cpp": build("12.8"), "gpus": nvidia(cuda_driver_version="12040", driver_version="515.1")},
        {"llama_cpp": build(None), "gpus": nvidia(cuda_driver_version="12.4", driver_version="550.1")},
    ]),
    # --- gpu.toml ------------------------------------------------------------------------------------------
    ("gpu.cuda13-drops-pre-turing", {"llama_cpp": build("13.1"), "gpus": nvidia(compute_capability="6.1")}, [
        {"llama_cpp": build("13.1"), "gpus": nvidia(compute_capability="7.5")},
        {"llama_cpp": build("12.4"), "gpus": nvidia(compute_capability="6.1")},
    ]),
    ("gpu.pre-turing-needs-cuda12", {"llama_cpp": None, "gpus": nvidia(compute_capability="7.0")}, [
        {"llama_cpp": None, "gpus": nvidia(compute_capability="8.6")},
        {"llama_cpp": build("12.4"), "gpus": nvidia(compute_capability="7.0")},
    ]),
    ("gpu.blackwell-needs-cuda-12.8", {"gpus": nvidia(compute_capability="12.0")}, [
        {"gpus": nvidia(compute_capability="12.0"), "llama_cpp": build("12.8")},
        {"gpus": nvidia(compute_capability="9.0")},
    ]),
    # --- model_defects.toml --------------------------------------------------------------------------------
    ("defect.minimax-m2-kquant-experts-nan", {"arch": "minimax-m2", "expert_types": ("q4_k", "q6_k"),
                                             "licence": LicenceInfo(card_license="mit")}, [
        {"arch": "llama", "expert_types": ("q4_k",)},
        {"arch": "minimax-m2", "expert_types": ("iq3_s", "q6_k")},
        {"arch": "minimax-m2", "expert_types": ("q5_k",), "llama_cpp": build(None, backend="vulkan")},
    ]),
    ("defect.minimax-m2-kquant-experts-nan.likely-cuda", {"arch": "minimax-m2", "expert_types": ("q5_k",),
                                                         "llama_cpp": None}, [
        {"arch": "minimax-m2", "expert_types": ("q5_k",), "llama_cpp": None, "gpus": APPLE},
        {"arch": "minimax-m2", "expert_types": ("q6_k",), "llama_cpp": None},
    ]),
    ("defect.minimax-m2-kquant-experts-nan.maybe", {"arch": "minimax-m2", "tensor_types": ("q4_k", "q6_k")}, [
        {"arch": "minimax-m2", "tensor_types": ("q6_k", "iq4_xs")},
        {"arch": "minimax-m2", "tensor_types": ("q4_k",), "expert_types": ("q6_k",)},
        {"arch": "minimax-m2", "tensor_types": ("q4_k",), "llama_cpp": build(None, "cpu")},
    ]),
    # --- headroom.toml -------------------------------------------------------------------------------------
    ("headroom.vram-over", {"vram": (25 * GiB, 24 * GiB)}, [
        {"vram": (24 * GiB, 24 * GiB)}, {"vram": (23 * GiB, 24 * GiB), "vram_reserve": 2 * GiB},
    ]),
    ("headroom.vram-tight", {"vram": (23.5 * GiB, 24 * GiB)}, [
        {"vram": (22 * GiB, 24 * GiB)}, {"vram": (25 * GiB, 24 * GiB)},
        {"vram": (22.5 * GiB, 24 * GiB), "vram_reserve": 1.5 * GiB},  # the planner's reserve is not "use"
    ]),
    ("headroom.ram-over", {"ram": (130 * GiB, 128 * GiB)}, [
        {"ram": (100 * GiB, 128 * GiB)},
        {"ram": (130 * GiB, 128 * GiB), "verdict": Verdict.DISK_STREAM, "decode_tps": None},
    ]),
    ("headroom.ram-tight", {"ram": (120 * GiB, 128 * GiB)}, [
        {"ram": (110 * GiB, 128 * GiB)},
        {"ram": (120 * GiB, 128 * GiB), "verdict": Verdict.DISK_STREAM},
    ]),
    ("headroom.disk-too-small", {"disk_free": 19 * GiB}, [{"disk_free": 20 * GiB}, {"disk_free": None}]),
    ("headroom.disk-tight", {"disk_free": 22 * GiB}, [{"disk_free": 23 * GiB}, {"disk_free": 19 * GiB}]),
    ("headroom.disk-stream", {"verdict": Verdict.DISK_STREAM, "decode_tps": SpeedRange(0.2, 0.4, 0.8)}, [
        {"verdict": Verdict.CPU, "decode_tps": SpeedRange(0.2, 0.4, 0.8)},
        {"verdict": Verdict.DISK_STREAM, "decode_tps": None},
    ]),
    ("headroom.disk-stream.no-estimate", {"verdict": Verdict.DISK_STREAM, "decode_tps": None}, [
        {"verdict": Verdict.DISK_STREAM},
        {"verdict": Verdict.CPU, "decode_tps": None},
    ]),
    ("headroom.wsl-cap-exceeded", {"is_wsl": True, "ram_limit": 32 * GiB, "ram": (40 * GiB, 128 * GiB)}, [
        {"is_wsl": False, "ram_limit": 32 * GiB, "ram": (40 * GiB, 128 * GiB)},
        {"is_wsl": True, "ram_limit": 64 * GiB, "ram": (40 * GiB, 128 * GiB)},
        {"is_wsl": True, "ram_limit": 32 * GiB, "ram": (40 * GiB, 128 * GiB), "verdict": Verdict.DISK_STREAM},
    ]),
    ("headroom.wsl-cap-streams", {"is_wsl": True, "ram_limit": 32 * GiB, "verdict": Verdict.DISK_STREAM}, [
        {"is_wsl": False, "ram_limit": 32 * GiB, "verdict": Verdict.DISK_STREAM},
        {"is_wsl": True, "ram_limit": 32 * GiB, "verdict": Verdict.CPU},
        {"is_wsl": True, "ram_limit": None, "verdict": Verdict.DISK_STREAM},
        {"is_wsl": True, "ram_limit": 128 * GiB, "verdict": Verdict.DISK_STREAM},
    ]),
    ("headroom.wsl-cap-tight", {"is_wsl": True, "ram_limit": 32 * GiB, "ram": (30 * GiB, 128 * GiB)}, [
        {"is_wsl": True, "ram_limit": 32 * GiB, "ram": (28 * GiB, 128 * GiB)},
        {"is_wsl": True, "ram_limit": 32 * GiB, "ram": (33 * GiB, 128 * GiB)},
        {"is_wsl": True, "ram_limit": 32 * GiB, "ram": (30 * GiB, 128 * GiB), "verdict": Verdict.DISK_STREAM},
    ]),
    ("headroom.wsl-default-half", {"is_wsl": True, "ram": (27 * GiB, 32 * GiB)}, [
        {"is_wsl": False, "ram": (27 * GiB, 32 * GiB)},
        {"is_wsl": True, "ram": (20 * GiB, 32 * GiB)},
        {"is_wsl": True, "ram": (27 * GiB, 32 * GiB), "ram_limit": 48 * GiB},
    ]),
    ("headroom.apple-working-set", {"gpus": APPLE, "vram": None, "unified": 50 * GiB}, [
        {"gpus": APPLE, "vram": None, "unified": 40 * GiB},
        {"gpus": (replace(APPLE[0], working_set_limit_bytes=None),), "vram": None, "unified": 50 * GiB},
    ]),
    ("headroom.context-does-not-fit", {"requested_context": 100000}, [
        {"requested_context": 65536}, {"requested_context": None}, {"requested_context": 100000, "with_plan": False},
        {"requested_context": 100000, "kv_cache_type": "q8_0"},  # fits with the cache type actually planned
    ]),
    ("headroom.context-beyond-training", {"requested_context": 200000, "max_context": {"f16": 300000}}, [
        {"requested_context": 131072, "max_context": {"f16": 300000}},
    ]),
    # --- licence.toml --------------------------------------------------------------------------------------
    ("licence.not-commercial", {"licence": LicenceInfo(card_license="cc-by-nc-4.0")}, [
        {"licence": LicenceInfo(card_license="cc-by-4.0")},
    ]),
    ("licence.conditional", {"licence": LicenceInfo(card_license="llama3.1")}, [
        {"licence": LicenceInfo(card_license="mit")},
    ]),
    ("licence.unknown", {"licence": LicenceInfo(card_license="other")}, [
        {"licence": LicenceInfo(card_license="other", card_license_name="qwen-research")},
    ]),
    ("licence.labels-disagree", {"licence": M27}, [
        {"licence": LicenceInfo(card_license="other", card_license_name="minimax-m2.7-non-commercial",
                                base_model="MiniMaxAI/MiniMax-M2.7")},
        {"licence": LicenceInfo(card_license="other", card_license_name="modified-mit")},
    ]),
]  # fmt: skip


def test_the_baseline_is_quiet() -> None:
    assert fired() == set()


@pytest.mark.parametrize(
    ("rule_id", "fire", "quiet"), RULE_TABLE, ids=[f"{r[0]}#{i}" for i, r in enumerate(RULE_TABLE)]
)
def test_rule_fires_on_one_side_and_not_the_other(rule_id: str, fire: dict, quiet: list[dict]) -> None:
    assert rule_id in fired(**fire)
    for variant in quiet:
        assert rule_id not in fired(**variant), variant


def test_every_bundled_rule_is_in_the_table() -> None:
    assert {r.id for r in load_rules().rules} == {row[0] for row in RULE_TABLE}


def test_every_rule_has_a_source_link_and_plain_text() -> None:
    for rule in load_rules().rules:
        assert rule.source.startswith(("https://", "{licence.")), rule.id
        assert rule.title and len(rule.explanation) > 15 and rule.remedy, rule.id


def test_risks_come_most_severe_first_and_superseded_ones_drop_out() -> None:
    risks = evaluate_risks(make_ctx(llama_cpp=build("13.2.1"), tensor_types=IQ, licence=M27,
                                    gpus=nvidia(driver_version="575.1", cuda_driver_version="12.9")))  # fmt: skip
    ids = [r.id for r in risks]
    ranks = [r.severity.rank for r in risks]
    assert ranks == sorted(ranks, reverse=True)
    assert ids[:2] == ["cuda.iq-miscompile.build", "driver.cuda13-needs-580"]
    assert "driver.older-than-toolkit" not in ids  # superseded by the 580 rule


def test_messages_are_filled_from_facts() -> None:
    [risk] = [
        r
        for r in evaluate_risks(make_ctx(verdict=Verdict.DISK_STREAM, decode_tps=SpeedRange(0.25, 0.4, 1.5)))
        if r.id == "headroom.disk-stream"
    ]
    assert risk.title == "Runs from disk: about 0.4 tokens/s"
    assert "0.25 to 1.5 tokens per second: a 500-token answer takes about 21 minutes" in risk.explanation
    assert "{" not in risk.explanation + risk.title + (risk.remedy or "")


def test_minimax_m27_quant_gets_the_non_commercial_flag_and_the_disagreement() -> None:
    risks = {r.id: r for r in evaluate_risks(make_ctx(arch="minimax-m2", licence=M27))}
    nc = risks["licence.not-commercial"]
    assert nc.severity is Severity.WARNING
    assert "MiniMax M2.7 Non-Commercial License" in nc.title
    assert "Built with MiniMax M2.7" in nc.explanation and "written authorisation" in nc.explanation
    assert nc.source == "https://huggingface.co/MiniMaxAI/MiniMax-M2.7/blob/main/LICENSE"
    disagree = risks["licence.labels-disagree"].explanation
    assert "modified-mit" in disagree and "MiniMaxAI/MiniMax-M2.7" in disagree


def test_expert_types_come_from_this_options_header_when_the_option_does_not_say() -> None:
    tensors = (
        TensorInfo("blk.61.ffn_down_exps.weight", "q4_k", 12, (1536, 3072, 256), 1),
        TensorInfo("blk.61.attn_q.weight", "q8_0", 8, (3072, 6144), 1),
    )
    ctx = make_ctx(arch="minimax-m2", header_tensors=tensors, tensor_types=())
    facts = facts_for(ctx)
    assert facts["option.expert_tensor_types"] == frozenset({"q4_k"})
    assert "defect.minimax-m2-kquant-experts-nan" in {r.id for r in evaluate_risks(ctx)}


def test_a_context_with_no_plan_still_gets_hardware_and_licence_risks() -> None:
    ids = fired(with_plan=False, llama_cpp=build("13.2.1"), tensor_types=IQ, licence=M27, disk_free=1 * GiB)
    assert {"cuda.iq-miscompile.build", "licence.not-commercial", "headroom.disk-too-small"} <= ids


# --- the engine's generic parts --------------------------------------------------------------------------

FACTS = {
    "option.quant": "Q4_K_M",
    "option.size_bytes": 10 * GiB,
    "disk.free_bytes": 11 * GiB,
    "option.tensor_types": frozenset({"q4_k", "q6_k"}),
    "build.cuda_toolkit": Version((13, 2, 1)),
    "gpu.nvidia_count": 1,
    "hw.is_wsl": False,
    "plan.decode_tps": None,
}


def _one(when: dict) -> bool:
    doc = {"rule": [{"id": "t", "severity": "info", "title": "t", "explanation": "t", "source": "https://x",
                     "when": when}]}  # fmt: skip
    return bool(evaluate_rules(parse_rules([("t.toml", doc)]), FACTS))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"fact": "option.quant", "eq": "Q4_K_M"}, True),
        ({"fact": "option.quant", "eq": "Q8_0"}, False),
        ({"fact": "option.quant", "ne": "Q8_0"}, True),
        ({"fact": "option.quant", "in": ["Q8_0", "Q4_K_M"]}, True),
        ({"fact": "option.quant", "not_in": ["Q8_0", "Q4_K_M"]}, False),
        ({"fact": "plan.decode_tps", "present": False}, True),
        ({"fact": "plan.decode_tps", "present": True}, False),
        ({"fact": "plan.decode_tps", "lt": 1}, False),  # unknown facts never compare
        ({"fact": "plan.decode_tps", "ne": 1}, False),
        ({"fact": "gpu.nvidia_count", "ge": 1, "lt": 2}, True),
        ({"fact": "gpu.nvidia_count", "gt": 1}, False),
        ({"fact": "build.cuda_toolkit", "ge": "13.2.0", "lt": "13.2.2"}, True),
        ({"fact": "build.cuda_toolkit", "eq": "13.2.1"}, True),
        ({"fact": "build.cuda_toolkit", "le": "13.2"}, False),
        ({"fact": "option.tensor_types", "contains_any": ["IQ3_S", "q6_k"]}, True),
        ({"fact": "option.tensor_types", "contains_all": ["q4_k", "iq3_s"]}, False),
        ({"fact": "option.tensor_types", "contains_none": ["iq3_s"]}, True),
        ({"fact": "disk.free_bytes", "lt": {"fact": "option.size_bytes", "plus": 2 * GiB}}, True),
        ({"fact": "disk.free_bytes", "lt": {"fact": "option.size_bytes", "times": 1.05}}, False),
        ({"fact": "disk.free_bytes", "gt": {"fact": "plan.decode_tps", "times": 2}}, False),
        ({"fact": "hw.is_wsl", "eq": False}, True),
        ({"fact": "hw.is_wsl", "lt": True}, False),
        ({"all": [{"fact": "hw.is_wsl", "eq": False}, {"fact": "gpu.nvidia_count", "eq": 1}]}, True),
        ({"all": [{"fact": "hw.is_wsl", "eq": True}, {"fact": "gpu.nvidia_count", "eq": 1}]}, False),
        ({"any": [{"fact": "hw.is_wsl", "eq": True}, {"fact": "gpu.nvidia_count", "eq": 1}]}, True),
        ({"any": [{"fact": "hw.is_wsl", "eq": True}, {"fact": "gpu.nvidia_count", "eq": 2}]}, False),
        ({"not": {"fact": "hw.is_wsl", "eq": True}}, True),
        ({"not": {"fact": "hw.is_wsl", "eq": False}}, False),
    ],
)
def test_operators(when: dict, expected: bool) -> None:
    assert _one(when) is expected


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"when": {"fact": "no.such", "eq": 1}}, "unknown fact"),
        ({"when": {"fact": "hw.is_wsl", "roughly": 1}}, "unknown operator"),
        ({"when": {"fact": "hw.is_wsl"}}, "no operator"),
        ({"when": {"all": []}}, "non-empty list"),
        ({"when": {"all": [{"fact": "hw.is_wsl", "eq": 1}], "fact": "hw.is_wsl"}}, "must stand alone"),
        ({"when": {"fact": "option.quant", "in": "Q8_0"}}, "takes a list"),
        ({"when": {"fact": "hw.is_wsl", "present": "yes"}}, "true or false"),
        ({"when": {"fact": "disk.free_bytes", "lt": {"fact": "option.size_bytes", "minus": 1}}}, "operand table"),
        ({"severity": "fatal"}, "severity"),
        ({"title": ""}, "`title` is required"),
        ({"explanation": "{nope.fact}"}, r"unknown fact\(s\) in text"),
        ({"supersedes": ["ghost"]}, "supersedes unknown"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_malformed_rules_are_refused_with_the_place_named(rule: dict, message: str) -> None:
    base = {"id": "bad", "severity": "info", "title": "t", "explanation": "e", "source": "https://x",
            "when": {"fact": "hw.is_wsl", "eq": True}}  # fmt: skip
    with pytest.raises(RuleDataError, match=message) as err:
        parse_rules([("broken.toml", {"rule": [{**base, **rule}]})])
    assert "broken.toml" in str(err.value) or "bad" in str(err.value)


def test_duplicate_rule_ids_are_refused() -> None:
    rule = {"id": "x", "severity": "info", "title": "t", "explanation": "e", "source": "https://x",
            "when": {"fact": "hw.is_wsl", "eq": True}}  # fmt: skip
    with pytest.raises(RuleDataError, match="duplicate"):
        parse_rules([("a.toml", {"rule": [rule]}), ("b.toml", {"rule": [rule]})])


@pytest.mark.parametrize(
    ("value", "spec", "text"),
    [
        (3 * GiB, "gib", "3.0 GiB"),
        (2.5e9, "gb", "2.5 GB"),
        (0.934, "pct", "93%"),
        (42.4, "tps", "42"),
        (4.26, "tps", "4.3"),
        (0.0312, "tps", "0.031"),
        (frozenset({"b", "a"}), None, "a, b"),
        (None, "gib", "unknown"),
        (Version((13, 2, 1)), None, "13.2.1"),
        (0.5, None, "0.5"),
        (7, "05d", "00007"),
    ],
)
def test_placeholder_formats(value: Any, spec: str | None, text: str) -> None:
    assert format_value(value, spec) == text


def test_optional_segments_drop_out_when_a_fact_inside_is_unknown() -> None:
    text = "Needs {option.size_bytes:gib}[[, at {plan.decode_tps} tokens/s]][[ on {option.quant}]]."
    assert render(text, FACTS) == "Needs 10.0 GiB on Q4_K_M."


def test_render_fills_every_placeholder() -> None:
    assert render("{option.quant} needs {option.size_bytes:gib}; {plan.decode_tps}", FACTS) == (
        "Q4_K_M needs 10.0 GiB; unknown"
    )


def test_evaluation_is_pure() -> None:
    ctx = make_ctx(llama_cpp=build("13.2.1"), tensor_types=IQ, licence=M27, vram=(23.5 * GiB, 24 * GiB))
    assert evaluate_risks(ctx) == evaluate_risks(ctx)
    assert ctx == make_ctx(llama_cpp=build("13.2.1"), tensor_types=IQ, licence=M27, vram=(23.5 * GiB, 24 * GiB))


def test_rules_are_loaded_once() -> None:
    assert load_rules() is load_rules()


# --- version parsing -------------------------------------------------------------------------------------

TABLE = {"13.2.51": "13.2.0", "13.2.78": "13.2.1", "13.2.86": "13.2.2"}
NVCC_OUTPUT = """nvcc: NVIDIA (R) Cuda compiler driver
Copyright (c) 2005-2026 NVIDIA Corporation
Cuda compilation tools, release 13.2, V13.2.78
Build cuda_13.2.r13.2/compiler.36424714_0"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13.2.1", (13, 2, 1)),
        ("13.2", (13, 2)),
        ("13.2.78", (13, 2, 1)),
        ("V13.2.51", (13, 2, 0)),
        ("13.2.99", (13, 2)),  # a component build the table does not know: patch unknown
        ("12.4.131", (12, 4)),
        ("Build cuda_13.2.r13.2/compiler.36424714_0", (13, 2)),
        (NVCC_OUTPUT, (13, 2, 1)),
        ("cuda-12.4", (12, 4)),
        ("", None),
        (None, None),
        ("unknown", None),
    ],
)
def test_parse_cuda_toolkit(text: str | None, expected: tuple[int, ...] | None) -> None:
    result = parse_cuda_toolkit(text, TABLE)
    assert (result.parts if result else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.4", (12, 4)), (12040, (12, 4)), ("13000", (13, 0)), ("CUDA Version: 12.8", (12, 8)), (None, None)],
)
def test_parse_cuda_driver_version(value: Any, expected: tuple[int, ...] | None) -> None:
    result = parse_cuda_driver_version(value)
    assert (result.parts if result else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("b8746", 8746), ("version: 8746 (d6f3030)", 8746), (613, 613), ("master", None), (None, None)],
)
def test_parse_llama_build(value: Any, expected: int | None) -> None:
    assert parse_llama_build(value) == expected


def test_versions_compare_by_number_with_missing_parts_as_zero() -> None:
    assert parse_version("13.2") == parse_version("13.2.0")
    assert parse_version("13.10") > parse_version("13.9.9")
    assert parse_version("580.65.06") == Version((580, 65, 6))
    assert parse_driver_major("580.65.06") == 580
    assert parse_driver_major(None) is None
    assert len({parse_version("13.2"), parse_version("13.2.0")}) == 1


def test_every_fact_is_documented() -> None:
    from pathlib import Path

    from advisor.risks.facts import FACTS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "risk-rules.md").read_text(encoding="utf-8")
    missing = [name for name in FACTS if f"`{name}`" not in doc]
    assert missing == []
