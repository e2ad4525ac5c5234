"""Tokens per second for one planned option, as a range fitted to published llama-bench runs.

How to call it (the planner does, once per option, after placement and memory are known)::

    from advisor.plan.speed import estimate_speed
    estimate = estimate_speed(facts, option.memory, hardware, context=option.context)
    # estimate.decode_tps / prefill_tps / decode_tps_at_context are SpeedRange(low, mid, high) or None
    option = with_speed(option, facts, hardware)  # the same, returning the OptionPlan with its fields filled

A ``rigfit calibrate`` run stored for this machine (same hardware fingerprint) is applied automatically
(``local="auto"``) and the basis says so; pass ``local=None`` to ignore it or a ``LocalScale`` to force one.

``devices`` are the option's ``DeviceMemory`` rows. Each must carry ``decode_read_bytes`` (weight bytes one
decoded token reads on that device: dense tensors fully, routed experts x used / count) and
``kv_bytes_per_token`` (KV bytes per token of context held there); ``bandwidth_gbps`` is optional (else the
hardware's figure, else a per-class default from the calibration file). For ``disk_stream`` pass
``disk_stream=True``: page-cache misses on the CPU device are then read from disk.

The model, per decoded token at context depth ``d``::

    seconds = sum over devices of (decode_read_bytes + d * kv_bytes_per_token) / (efficiency[class] * bandwidth)
              + fixed cost of each device class involved + hop cost for each extra device of a class
              + page-cache misses / disk read speed                       (disk_stream only)

and per prompt token: ``2 * active params + attention FLOPs`` over ``efficiency * peak FLOPS`` of the device
that runs the batch (the GPU when there is one: weights kept in RAM then cross PCIe once per micro-batch).
Efficiencies, fixed costs and the {low, high} spread come from ``resources/calibration/model.toml``, written by
``benchmarks/calibrate_fit.py`` from ``resources/calibration/llama_bench.csv``; nothing here is tuned by hand.
All functions are pure: the calibration and any local measurement are passed in (or loaded once and cached).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from advisor.hardware.types import Cpu, Gpu, Hardware
from advisor.model.types import ModelFacts
from advisor.plan.types import DeviceMemory, OptionPlan, SpeedEstimate, SpeedRange, Verdict
from advisor.resources import resource_path

#: Speed classes the calibration knows; each DeviceMemory is mapped to one.
GPU_CLASSES = ("nvidia_gpu", "nvidia_datacenter", "amd_gpu", "apple", "unified_apu")
#: Data-centre NVIDIA parts (HBM, lower clocks): public runs show a larger per-token cost than GeForce cards.
DATACENTER_NAMES = re.compile(r"\b(a100|a800|h100|h800|h200|h20|gh200|b100|b200|gb200)\b", re.I)
CPU_CLASSES = ("desktop_cpu", "server_cpu", "multi_socket_cpu", "apple_cpu")

#: llama-bench's empty-context tests: tg128 decodes from depth 0, pp512 processes 512 prompt tokens.
BENCH_GEN_TOKENS = 128
BENCH_PROMPT_TOKENS = 512


@dataclass(frozen=True)
class ClassParams:
    """Fitted behaviour of one speed class."""

    decode_efficiency: float  # share of spec memory bandwidth a decode token reaches
    fixed_ms: float  # per-token cost that does not scale with bytes (kernel launches, sync, sampling)
    prefill_efficiency: float  # share of spec peak FLOPS prompt processing reaches
    default_bandwidth_gbps: float  # used when neither the plan nor the hardware gives one
    default_tflops: float  # used when the hardware gives neither peak FLOPS nor bandwidth
    tflops_per_gbps: float = 0.0  # peak FLOPS per GB/s of the class's devices: a guess from bandwidth alone

    def guess_tflops(self, bandwidth_gbps: float | None) -> float:
        if bandwidth_gbps and self.tflops_per_gbps:
            return bandwidth_gbps * self.tflops_per_gbps
        return self.default_tflops


@dataclass(frozen=True)
class SpeedModel:
    """The fitted calibration (``model.toml``), plus where it came from."""

    classes: dict[str, ClassParams]
    hop_ms: float  # extra per-token cost of each additional device of the same class (layer split)
    pcie_gbps: float  # host-to-GPU copy speed for RAM-resident weights during prompt processing
    disk_efficiency: float  # share of a disk's sequential read speed reached by page-cache misses
    default_disk_gbps: float
    decode_spread: tuple[float, float, float]  # (low, mid, high) multipliers from the fit's residuals
    prefill_spread: tuple[float, float, float]
    version: str = "calibration"
    train_rows: int = 0

    def params(self, speed_class: str) -> ClassParams:
        if speed_class in self.classes:
            return self.classes[speed_class]
        fallback = "desktop_cpu" if speed_class in CPU_CLASSES else "nvidia_gpu"
        return self.classes[fallback]


@dataclass(frozen=True)
class DeviceWork:
    """What one device does for each token, in the units the speed model needs."""

    speed_class: str
    bandwidth_gbps: float
    peak_tflops: float
    decode_read_bytes: int
    kv_bytes_per_token: int = 0
    #: Bytes of this device's decode reads that miss the page cache and come from disk (disk_stream).
    disk_read_bytes: int = 0
    is_host: bool = False  # the CPU side: its weights cross PCIe when a GPU runs prompt batches
    label: str = ""
    #: All weight bytes kept on this (host) device. A prompt batch touches nearly every expert, so with a GPU
    #: present all of them cross PCIe once per micro-batch; 0 means "same as decode_read_bytes".
    resident_weight_bytes: int = 0
    #: Share of this device's mapped weights the page cache cannot hold (disk_stream): a prompt micro-batch
    #: touches all weights, so this share is read from disk once per micro-batch.
    page_cache_miss_share: float = 0.0


@dataclass(frozen=True)
class LocalScale:
    """A measured run on this machine (``rigfit calibrate``): later estimates scale by measured / predicted."""

    decode_factor: float
    prefill_factor: float | None = None
    label: str = "your measured run"


@dataclass(frozen=True)
class Workload:
    """The model side of the speed model: what a token costs in FLOPs."""

    active_params: int
    attention_flops_per_context_token: float = 0.0  # per prompt token, per token of context before it

    @staticmethod
    def from_facts(facts: ModelFacts) -> Workload:
        active = facts.active_params or facts.total_params
        # Attention: QK^T and AV are 2 FLOPs each per head dimension per head per context token per layer.
        per_ctx = 0.0
        for layer, heads in enumerate(facts.head_count):
            if layer < len(facts.head_count_kv) and facts.head_count_kv[layer] == 0:
                continue
            per_ctx += 2.0 * heads * (facts.key_length + facts.value_length)
        return Workload(active_params=int(active), attention_flops_per_context_token=per_ctx)


# --------------------------------------------------------------------------------------------- calibration


def load_speed_model(path: Path | None = None) -> SpeedModel:
    """Read a fitted ``model.toml``."""
    path = path or resource_path("calibration", "model.toml")
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    classes = {
        name: ClassParams(
            decode_efficiency=float(v["decode_efficiency"]),
            fixed_ms=float(v["fixed_ms"]),
            prefill_efficiency=float(v["prefill_efficiency"]),
            default_bandwidth_gbps=float(v["default_bandwidth_gbps"]),
            default_tflops=float(v["default_tflops"]),
            tflops_per_gbps=float(v.get("tflops_per_gbps", 0.0)),
        )
        for name, v in data["classes"].items()
    }
    spread = data["spread"]
    return SpeedModel(
        classes=classes,
        hop_ms=float(data["multi_device"]["hop_ms"]),
        pcie_gbps=float(data["multi_device"]["pcie_gbps"]),
        disk_efficiency=float(data["disk"]["efficiency"]),
        default_disk_gbps=float(data["disk"]["default_read_gbps"]),
        decode_spread=(float(spread["decode_low"]), float(spread["decode_mid"]), float(spread["decode_high"])),
        prefill_spread=(float(spread["prefill_low"]), float(spread["prefill_mid"]), float(spread["prefill_high"])),
        version=str(data.get("version", "calibration")),
        train_rows=int(data.get("train_rows", 0)),
    )


@cache
def default_speed_model() -> SpeedModel:
    return load_speed_model()


@cache
def _cpu_classes() -> dict:
    with open(resource_path("specs", "cpu_classes.toml"), "rb") as fh:
        return tomllib.load(fh)


# ------------------------------------------------------------------------------------------ classification


def cpu_speed_class(cpu: Cpu, os_name: str | None = None) -> str:
    """Which CPU class a machine's CPU belongs to (sockets, core count and name decide)."""
    name = (cpu.name or "").lower()
    if (cpu.sockets or 1) > 1:
        return "multi_socket_cpu"
    if (cpu.arch or "").lower() in ("arm64", "aarch64") and (os_name == "macos" or "apple" in name):
        return "apple_cpu"
    server_words = ("epyc", "xeon", "threadripper", "ampere", "grace", "neoverse")
    if any(word in name for word in server_words) or (cpu.physical_cores or 0) >= 24:
        return "server_cpu"
    return "desktop_cpu"


def gpu_speed_class(gpu: Gpu | None, kind: str) -> str:
    vendor = (gpu.vendor if gpu else "").lower()
    if vendor == "apple":
        return "apple"
    if kind == "unified" or (gpu is not None and gpu.unified_memory):
        return "unified_apu"
    if vendor == "nvidia":
        return "nvidia_datacenter" if DATACENTER_NAMES.search(gpu.name if gpu else "") else "nvidia_gpu"
    return "amd_gpu"  # AMD, Intel and other Vulkan devices share the discrete non-CUDA fit


def cpu_peak_tflops(cpu: Cpu) -> float:
    """Peak FP32 FLOPS of the CPU: cores x clock x FLOPs per cycle of its widest SIMD unit."""
    table = _cpu_classes()
    features = {f.lower() for f in cpu.features}
    simd = "scalar"
    for name in ("avx512", "avx2", "neon_apple", "neon", "sve"):
        row = table["simd"][name]
        if any(feat.startswith(prefix) for prefix in row["features"] for feat in features):
            simd = name
            break
    if simd == "neon" and "apple" in (cpu.name or "").lower():
        simd = "neon_apple"
    cores = cpu.physical_cores or table["default_cores"]
    flops_per_cycle = table["simd"][simd]["fp32_flops_per_cycle"]
    return cores * table["default_clock_ghz"] * flops_per_cycle / 1e3


def _gpu_for(device: DeviceMemory, hardware: Hardware) -> Gpu | None:
    if not hardware.gpus:
        return None
    digits = "".join(ch for ch in device.device if ch.isdigit())
    index = int(digits) if digits else 0
    for gpu in hardware.gpus:
        if gpu.index == index:
            return gpu
    return hardware.gpus[min(index, len(hardware.gpus) - 1)]


def device_work(
    devices: Sequence[DeviceMemory],
    hardware: Hardware,
    model: SpeedModel,
    *,
    disk_stream: bool = False,
) -> tuple[DeviceWork, ...]:
    """Turn the planner's memory rows into per-device work for the speed model."""
    works = []
    for dev in devices:
        if dev.decode_read_bytes <= 0 and dev.kv_bytes_per_token <= 0:
            continue
        if dev.kind == "cpu":
            cls = cpu_speed_class(hardware.cpu, hardware.os)
            params = model.params(cls)
            bandwidth = dev.bandwidth_gbps or hardware.memory.bandwidth_gbps or params.default_bandwidth_gbps
            tflops = cpu_peak_tflops(hardware.cpu)
            miss_share = _page_cache_miss_share(dev) if disk_stream else 0.0
            disk_bytes = int(dev.decode_read_bytes * miss_share)
            works.append(
                DeviceWork(
                    cls,
                    bandwidth,
                    tflops,
                    dev.decode_read_bytes,
                    dev.kv_bytes_per_token,
                    disk_bytes,
                    True,
                    dev.device,
                    resident_weight_bytes=dev.weights_bytes,
                    page_cache_miss_share=miss_share,
                )
            )
        else:
            gpu = _gpu_for(dev, hardware)
            cls = gpu_speed_class(gpu, dev.kind)
            params = model.params(cls)
            bandwidth = dev.bandwidth_gbps or (gpu.bandwidth_gbps if gpu else None) or params.default_bandwidth_gbps
            tflops = (gpu.fp16_tflops if gpu else None) or params.guess_tflops(bandwidth)
            works.append(
                DeviceWork(cls, bandwidth, tflops, dev.decode_read_bytes, dev.kv_bytes_per_token, 0, False, dev.device)
            )
    return tuple(works)


def _page_cache_miss_share(dev: DeviceMemory) -> float:
    """Share of the mapped weights that cannot stay in RAM: what exceeds the room left for the page cache."""
    if dev.mapped_weights_bytes <= 0 or dev.capacity_bytes is None:
        return 0.0
    resident_other = dev.total_bytes - dev.mapped_weights_bytes
    cacheable = max(0, dev.capacity_bytes - resident_other)
    return max(0.0, 1.0 - cacheable / dev.mapped_weights_bytes)


# ----------------------------------------------------------------------------------------------- the model


def decode_seconds_per_token(
    works: Sequence[DeviceWork], model: SpeedModel, depth: float = 0.0, disk_gbps: float | None = None
) -> float:
    """Time for one decoded token at context ``depth`` (the fitted mid estimate, before the spread)."""
    seconds = 0.0
    per_class: dict[str, int] = {}
    for work in works:
        params = model.params(work.speed_class)
        read = work.decode_read_bytes - work.disk_read_bytes + depth * work.kv_bytes_per_token
        seconds += read / (params.decode_efficiency * work.bandwidth_gbps * 1e9)
        if work.disk_read_bytes:
            disk = (disk_gbps or model.default_disk_gbps) * model.disk_efficiency * 1e9
            seconds += work.disk_read_bytes / disk
        per_class[work.speed_class] = per_class.get(work.speed_class, 0) + 1
    for cls, count in per_class.items():
        seconds += (model.params(cls).fixed_ms + (count - 1) * model.hop_ms) / 1e3
    return seconds


def prefill_seconds_per_token(
    works: Sequence[DeviceWork],
    workload: Workload,
    model: SpeedModel,
    *,
    prompt_tokens: int = BENCH_PROMPT_TOKENS,
    depth: float = 0.0,
    ubatch: int = 512,
    disk_gbps: float | None = None,
) -> float:
    """Time per prompt token when ``prompt_tokens`` are processed after ``depth`` tokens of context."""
    accelerators = [w for w in works if not w.is_host]
    mean_ctx = depth + prompt_tokens / 2.0
    flops = 2.0 * workload.active_params + workload.attention_flops_per_context_token * mean_ctx
    per_batch = max(1, min(ubatch, prompt_tokens))
    disk_seconds = 0.0
    for work in works:  # disk_stream: the uncached share of the weights is read once per micro-batch
        if work.page_cache_miss_share > 0:
            disk = (disk_gbps or model.default_disk_gbps) * model.disk_efficiency * 1e9
            resident = work.resident_weight_bytes or work.decode_read_bytes
            disk_seconds += resident * work.page_cache_miss_share / disk / per_batch
    if not accelerators:
        host = works[0] if works else None
        if host is None:
            return math.inf
        params = model.params(host.speed_class)
        return flops / (params.prefill_efficiency * host.peak_tflops * 1e12) + disk_seconds
    # Layer split: each accelerator does its share of the layers in turn; shares follow decode bytes.
    total_bytes = sum(max(w.decode_read_bytes, 1) for w in accelerators)
    seconds = 0.0
    for work in accelerators:
        params = model.params(work.speed_class)
        share = max(work.decode_read_bytes, 1) / total_bytes
        seconds += share * flops / (params.prefill_efficiency * work.peak_tflops * 1e12)
    # Weights kept in RAM are copied to the GPU once per micro-batch (llama.cpp offloads large batches).
    host_bytes = sum(w.resident_weight_bytes or w.decode_read_bytes for w in works if w.is_host)
    if host_bytes and not any(w.speed_class in ("apple", "unified_apu") for w in accelerators):
        seconds += host_bytes / (model.pcie_gbps * 1e9) / per_batch
    return seconds + disk_seconds


def _range(value: float, spread: tuple[float, float, float], scale: float = 1.0) -> SpeedRange:
    low, mid, high = (value * scale * s for s in spread)
    return SpeedRange(low=round(low, 2), mid=round(mid, 2), high=round(high, 2))


def estimate_speed(
    facts: ModelFacts,
    devices: Sequence[DeviceMemory],
    hardware: Hardware,
    context: int,
    *,
    disk_stream: bool = False,
    ubatch: int = 512,
    model: SpeedModel | None = None,
    local: LocalScale | str | None = "auto",
) -> SpeedEstimate:
    """Decode and prefill speed ranges for one option (see the module docstring for the model).

    ``local="auto"`` (the default) applies this machine's ``rigfit calibrate`` run when one is stored for the
    hardware's fingerprint; pass ``None`` (or a ``LocalScale``) to keep the call free of that one file read.
    """
    model = model or default_speed_model()
    if local == "auto":
        local = _stored_scale(hardware)
    works = device_work(devices, hardware, model, disk_stream=disk_stream)
    if not works:
        return SpeedEstimate(estimate_basis="no device reads any weights: speed not estimated")
    disk_gbps = hardware.disk.read_gbps if hardware.disk else None
    workload = Workload.from_facts(facts)
    decode_factor = local.decode_factor if local else 1.0
    prefill_factor = (local.prefill_factor or 1.0) if local else 1.0

    empty = 1.0 / decode_seconds_per_token(works, model, BENCH_GEN_TOKENS / 2, disk_gbps)
    at_ctx = 1.0 / decode_seconds_per_token(works, model, max(0, context), disk_gbps)
    prefill = 1.0 / prefill_seconds_per_token(works, workload, model, ubatch=ubatch, disk_gbps=disk_gbps)
    basis = f"{model.version}: fitted to {model.train_rows} published llama-bench runs"
    if any(w.disk_read_bytes for w in works):
        basis += "; page-cache misses read from disk"
    if local:
        basis += f"; scaled by {local.label} (x{decode_factor:.2f} decode)"
    return SpeedEstimate(
        decode_tps=_range(empty, model.decode_spread, decode_factor),
        prefill_tps=_range(prefill, model.prefill_spread, prefill_factor),
        decode_tps_at_context=_range(at_ctx, model.decode_spread, decode_factor),
        estimate_basis=basis,
    )


def _stored_scale(hardware: Hardware) -> LocalScale | None:
    from advisor.errors import RigfitError
    from advisor.plan.calibration import local_scale

    try:
        return local_scale(hardware)
    except RigfitError:
        return None  # a damaged store must not break planning; `rigfit calibrate` reports it


def with_speed(
    option: OptionPlan,
    facts: ModelFacts,
    hardware: Hardware,
    *,
    ubatch: int = 512,
    model: SpeedModel | None = None,
    local: LocalScale | str | None = "auto",
) -> OptionPlan:
    """The option with its speed fields filled from its own memory rows (nothing for an impossible option)."""
    if not option.verdict.runs or not option.memory:
        return option
    estimate = estimate_speed(
        facts,
        option.memory,
        hardware,
        option.context,
        disk_stream=option.verdict is Verdict.DISK_STREAM,
        ubatch=ubatch,
        model=model,
        local=local,
    )
    return replace(
        option,
        decode_tps=estimate.decode_tps,
        prefill_tps=estimate.prefill_tps,
        decode_tps_at_context=estimate.decode_tps_at_context,
        estimate_basis=estimate.estimate_basis,
    )


__all__ = [
    "ClassParams",
    "DeviceWork",
    "LocalScale",
    "SpeedModel",
    "Workload",
    "cpu_peak_tflops",
    "cpu_speed_class",
    "decode_seconds_per_token",
    "default_speed_model",
    "device_work",
    "estimate_speed",
    "gpu_speed_class",
    "load_speed_model",
    "prefill_seconds_per_token",
    "with_speed",
]
