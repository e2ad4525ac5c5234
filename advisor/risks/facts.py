"""The named facts rules are written against: one flat, read-only view of a risk context.

Facts only measure (a version, a share of memory, a set of tensor types); they never decide. Every threshold and
every combination lives in resources/rules/*.toml. A fact that cannot be known is None, and the engine treats a
comparison with None as false, so a rule about an unknown fact stays silent unless it asks ``present = false``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from advisor.hardware.types import Gpu, Hardware
from advisor.model.types import Model, QuantOption
from advisor.plan.types import DeviceMemory, OptionPlan
from advisor.risks.licences import LicenceVerdict
from advisor.risks.versions import (
    Version,
    parse_cuda_driver_version,
    parse_cuda_toolkit,
    parse_driver_major,
    parse_llama_build,
    parse_version,
)


@dataclass(frozen=True)
class RiskContext:
    """Everything a rule may look at for one quantization option on one machine."""

    model: Model
    option: QuantOption
    hardware: Hardware
    option_plan: OptionPlan | None = None
    requested_context: int | None = None
    #: KV cache type the plan used ("f16", "q8_0"); picks the entry of ``option_plan.max_context``.
    kv_cache_type: str | None = None


@dataclass(frozen=True)
class FactInputs:
    ctx: RiskContext
    licence: LicenceVerdict
    nvcc_releases: Mapping[str, str]


FactFn = Callable[[FactInputs], Any]


@dataclass(frozen=True)
class FactSpec:
    name: str
    kind: str  # "text", "number", "bool", "version", "set"
    description: str
    compute: FactFn


FACTS: dict[str, FactSpec] = {}


def fact(name: str, kind: str, description: str) -> Callable[[FactFn], FactFn]:
    def register(fn: FactFn) -> FactFn:
        FACTS[name] = FactSpec(name, kind, description, fn)
        return fn

    return register


# --- helpers ---------------------------------------------------------------------------------------------


def _nvidia(hw: Hardware) -> tuple[Gpu, ...]:
    return tuple(g for g in hw.gpus if g.vendor.lower() == "nvidia")


def _min(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _max(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _allocated(d: DeviceMemory) -> int:
    """What llama.cpp itself allocates on a device: everything but the planner's reserve (driver, margins)."""
    return d.total_bytes - d.other_bytes


def _gpu_devices(plan: OptionPlan | None) -> list[tuple[str, int, int]]:
    if plan is None:
        return []
    return [(d.device, _allocated(d), d.capacity_bytes) for d in plan.memory if d.kind == "gpu" and d.capacity_bytes]


def _fullest_gpu(i: FactInputs) -> tuple[str, int, int] | None:
    devices = _gpu_devices(i.ctx.option_plan)
    return max(devices, key=lambda d: d[1] / d[2]) if devices else None


def _ram_capacity(i: FactInputs) -> int | None:
    plan = i.ctx.option_plan
    caps = [d.capacity_bytes for d in plan.memory if d.kind == "cpu" and d.capacity_bytes] if plan else []
    if caps:
        return min(caps)
    mem = i.ctx.hardware.memory
    return min(x for x in (mem.total_bytes, mem.limit_bytes) if x) if mem.total_bytes else None


def _option_types(i: FactInputs) -> frozenset[str] | None:
    ctx = i.ctx
    if ctx.option_plan is not None and ctx.option_plan.tensor_types:
        return frozenset(t.lower() for t in ctx.option_plan.tensor_types)
    if ctx.option.tensor_types:
        return frozenset(t.lower() for t in ctx.option.tensor_types)
    if len(ctx.model.options) == 1 and ctx.model.facts.tensor_types:
        return frozenset(t.lower() for t in ctx.model.facts.tensor_types)
    return None


# --- model and option ------------------------------------------------------------------------------------


@fact("model.architecture", "text", "GGUF general.architecture, e.g. minimax-m2")
def _arch(i: FactInputs) -> str:
    return i.ctx.model.facts.architecture.lower()


@fact("model.name", "text", "the model's display name")
def _model_name(i: FactInputs) -> str:
    return i.ctx.model.name


@fact("model.context_length", "number", "context length the model was trained for")
def _trained_ctx(i: FactInputs) -> int | None:
    return i.ctx.model.facts.context_length or None


@fact("model.repo", "text", "Hub repo id the files come from")
def _repo(i: FactInputs) -> str | None:
    return i.ctx.model.repo


@fact("option.quant", "text", "quantization name, e.g. UD-Q4_K_XL")
def _quant(i: FactInputs) -> str:
    return i.ctx.option.quant


@fact("option.size_bytes", "number", "bytes of all the option's files")
def _size(i: FactInputs) -> int:
    return i.ctx.option.size_bytes


@fact("option.tensor_types", "set", "ggml tensor types in the option's files (lower-case); None if not known")
def _types(i: FactInputs) -> frozenset[str] | None:
    return _option_types(i)


@fact("option.expert_tensor_types", "set", "tensor types of the routed-expert tensors (ffn_*_exps); None if not known")
def _expert_types(i: FactInputs) -> frozenset[str] | None:
    ctx = i.ctx
    if ctx.option.expert_tensor_types:
        return frozenset(t.lower() for t in ctx.option.expert_tensor_types)
    facts = ctx.model.facts
    option_types = _option_types(i)
    header_is_this_option = bool(facts.tensors) and (
        len(ctx.model.options) == 1 or frozenset(t.lower() for t in facts.tensor_types) == option_types
    )
    if not header_is_this_option:
        return None
    return frozenset(t.type_name.lower() for t in facts.tensors if "_exps" in t.name)


# --- llama.cpp build and toolkit -------------------------------------------------------------------------


@fact("build.known", "bool", "a llama.cpp build was found or stated")
def _build_known(i: FactInputs) -> bool:
    b = i.ctx.hardware.llama_cpp
    return b is not None and any((b.build, b.backend, b.cuda_version))


@fact("build.backend", "text", "backend of the llama.cpp build: cuda, metal, vulkan, rocm, cpu")
def _backend(i: FactInputs) -> str | None:
    b = i.ctx.hardware.llama_cpp
    return b.backend.lower() if b and b.backend else None


@fact("build.number", "number", "llama.cpp release number, b8746 -> 8746")
def _build_number(i: FactInputs) -> int | None:
    b = i.ctx.hardware.llama_cpp
    return parse_llama_build(b.build) if b else None


@fact("build.cuda_toolkit", "version", "CUDA toolkit release the llama.cpp build was compiled with")
def _build_toolkit(i: FactInputs) -> Version | None:
    b = i.ctx.hardware.llama_cpp
    return parse_cuda_toolkit(b.cuda_version, i.nvcc_releases) if b else None


@fact(
    "build.cuda_toolkit_precision", "number", "how many parts of the build's toolkit version are known (3: patch known)"
)
def _build_toolkit_precision(i: FactInputs) -> int | None:
    v = _build_toolkit(i)
    return v.precision if v else None


@fact("build.cuda_toolkit_line", "version", "major.minor of the build's toolkit: 12.8.1 -> 12.8")
def _build_toolkit_line(i: FactInputs) -> Version | None:
    v = _build_toolkit(i)
    return Version(v.parts[:2]) if v else None


@fact("nvcc.version", "version", "CUDA toolkit release of the nvcc on PATH (or stated)")
def _nvcc(i: FactInputs) -> Version | None:
    n = i.ctx.hardware.nvcc
    return parse_cuda_toolkit(n.version, i.nvcc_releases) if n else None


@fact("nvcc.version_precision", "number", "how many parts of nvcc's release are known (3: patch known)")
def _nvcc_precision(i: FactInputs) -> int | None:
    v = _nvcc(i)
    return v.precision if v else None


# --- GPUs ------------------------------------------------------------------------------------------------


@fact("gpu.count", "number", "number of GPUs")
def _gpu_count(i: FactInputs) -> int:
    return len(i.ctx.hardware.gpus)


@fact("gpu.nvidia_count", "number", "number of NVIDIA GPUs")
def _nvidia_count(i: FactInputs) -> int:
    return len(_nvidia(i.ctx.hardware))


@fact("gpu.nvidia_names", "set", "names of the NVIDIA GPUs")
def _nvidia_names(i: FactInputs) -> frozenset[str]:
    return frozenset(g.name for g in _nvidia(i.ctx.hardware))


@fact("gpu.driver_version", "text", "NVIDIA driver version string, e.g. 580.65.06 (the oldest if several)")
def _driver_version(i: FactInputs) -> str | None:
    versions = [(parse_version(g.driver_version), g.driver_version) for g in _nvidia(i.ctx.hardware)]
    known = [v for v in versions if v[0] is not None]
    return min(known)[1] if known else None


@fact("gpu.driver_major", "number", "NVIDIA driver branch, 580.65.06 -> 580")
def _driver_major(i: FactInputs) -> int | None:
    return _min([parse_driver_major(g.driver_version) for g in _nvidia(i.ctx.hardware)])


@fact("gpu.cuda_driver_version", "version", "newest CUDA the NVIDIA driver supports, e.g. 12.4")
def _cuda_driver(i: FactInputs) -> Version | None:
    return _min([parse_cuda_driver_version(g.cuda_driver_version) for g in _nvidia(i.ctx.hardware)])


@fact("gpu.min_compute_capability", "version", "lowest compute capability among NVIDIA GPUs")
def _min_cc(i: FactInputs) -> Version | None:
    return _min([parse_version(g.compute_capability) for g in _nvidia(i.ctx.hardware)])


@fact("gpu.max_compute_capability", "version", "highest compute capability among NVIDIA GPUs")
def _max_cc(i: FactInputs) -> Version | None:
    return _max([parse_version(g.compute_capability) for g in _nvidia(i.ctx.hardware)])


@fact("gpu.unified", "bool", "a GPU shares system RAM (Apple Silicon, Strix Halo, ...)")
def _unified(i: FactInputs) -> bool:
    return i.ctx.hardware.unified


@fact("gpu.working_set_limit_bytes", "number", "most memory a unified GPU may use (Apple recommendedMaxWorkingSetSize)")
def _working_set(i: FactInputs) -> int | None:
    return _min([g.working_set_limit_bytes for g in i.ctx.hardware.gpus if g.unified_memory])


# --- memory, disk, OS ------------------------------------------------------------------------------------


@fact("hw.os", "text", "linux, windows or macos")
def _os(i: FactInputs) -> str | None:
    return i.ctx.hardware.os


@fact("hw.is_wsl", "bool", "running inside WSL")
def _wsl(i: FactInputs) -> bool:
    return i.ctx.hardware.is_wsl


@fact("ram.total_bytes", "number", "system RAM the OS reports")
def _ram_total(i: FactInputs) -> int:
    return i.ctx.hardware.memory.total_bytes


@fact("ram.limit_bytes", "number", "a cap below total RAM (WSL memory=, cgroups)")
def _ram_limit(i: FactInputs) -> int | None:
    return i.ctx.hardware.memory.limit_bytes


@fact("disk.free_bytes", "number", "free space where the files would be saved")
def _disk_free(i: FactInputs) -> int | None:
    d = i.ctx.hardware.disk
    return d.free_bytes if d else None


@fact("disk.path", "text", "where the files would be saved")
def _disk_path(i: FactInputs) -> str | None:
    d = i.ctx.hardware.disk
    return d.path if d else None


@fact("disk.read_gbps", "number", "sequential read speed of that disk, GB/s")
def _disk_read(i: FactInputs) -> float | None:
    d = i.ctx.hardware.disk
    return d.read_gbps if d else None


# --- the option's plan -----------------------------------------------------------------------------------


@fact("plan.present", "bool", "the planner placed this option (facts below need it)")
def _plan_present(i: FactInputs) -> bool:
    return i.ctx.option_plan is not None


@fact("plan.verdict", "text", "gpu, multi_gpu, experts_on_cpu, partial_offload, unified, cpu, disk_stream, ...")
def _verdict(i: FactInputs) -> str | None:
    p = i.ctx.option_plan
    return p.verdict.value if p else None


@fact(
    "plan.vram_share", "number", "highest share of a GPU's memory llama.cpp allocates (1.0 = full; reserves excluded)"
)
def _vram_share(i: FactInputs) -> float | None:
    d = _fullest_gpu(i)
    return d[1] / d[2] if d else None


@fact("plan.vram_device", "text", "llama.cpp name of that fullest GPU, e.g. CUDA0")
def _vram_device(i: FactInputs) -> str | None:
    d = _fullest_gpu(i)
    return d[0] if d else None


@fact("plan.vram_free_bytes", "number", "memory left free on that fullest GPU once llama.cpp has allocated")
def _vram_free(i: FactInputs) -> int | None:
    d = _fullest_gpu(i)
    return d[2] - d[1] if d else None


@fact("plan.vram_used_bytes", "number", "bytes llama.cpp allocates on that fullest GPU (planner reserves excluded)")
def _vram_used(i: FactInputs) -> int | None:
    d = _fullest_gpu(i)
    return d[1] if d else None


@fact("plan.vram_capacity_bytes", "number", "memory of that fullest GPU")
def _vram_capacity(i: FactInputs) -> int | None:
    d = _fullest_gpu(i)
    return d[2] if d else None


@fact(
    "plan.ram_used_bytes",
    "number",
    "bytes llama.cpp keeps in system RAM (weights, KV, buffers; the OS reserve excluded)",
)
def _ram_used(i: FactInputs) -> int | None:
    p = i.ctx.option_plan
    if p is None:
        return None
    return sum(_allocated(d) for d in p.memory if d.kind == "cpu")


@fact(
    "plan.ram_capacity_bytes", "number", "RAM the plan may use: the CPU device's capacity, or total RAM within any cap"
)
def _ram_cap(i: FactInputs) -> int | None:
    return _ram_capacity(i)


@fact("plan.ram_share", "number", "plan.ram_used_bytes / plan.ram_capacity_bytes")
def _ram_share(i: FactInputs) -> float | None:
    used, cap = _ram_used(i), _ram_capacity(i)
    return used / cap if used is not None and cap else None


@fact("plan.unified_used_bytes", "number", "bytes llama.cpp allocates in a unified GPU's memory pool")
def _unified_used(i: FactInputs) -> int | None:
    p = i.ctx.option_plan
    if p is None:
        return None
    # Only the head machine's pool: an RPC worker's unified memory is not this machine's working-set limit.
    return sum(_allocated(d) for d in p.memory if d.kind == "unified" and d.machine is None) or None


@fact("plan.context", "number", "context length the plan was made for")
def _plan_ctx(i: FactInputs) -> int | None:
    p = i.ctx.option_plan
    return p.context if p and p.context else None


@fact("plan.max_context", "number", "largest context that fits with the plan's KV cache type")
def _max_ctx(i: FactInputs) -> int | None:
    p = i.ctx.option_plan
    if p is None or not p.max_context:
        return None
    kv = i.ctx.kv_cache_type or "f16"
    return p.max_context.get(kv, p.max_context.get("f16"))


@fact("plan.max_context_any_cache", "number", "largest context that fits with any KV cache type planned")
def _max_ctx_any(i: FactInputs) -> int | None:
    p = i.ctx.option_plan
    return max(p.max_context.values()) if p and p.max_context else None


def _speed(i: FactInputs, which: str) -> float | None:
    p = i.ctx.option_plan
    if p is None or p.decode_tps is None:
        return None
    return getattr(p.decode_tps, which)


@fact("plan.decode_tps", "number", "estimated decode speed, tokens/s (middle of the range)")
def _tps(i: FactInputs) -> float | None:
    return _speed(i, "mid")


@fact("plan.decode_tps_low", "number", "estimated decode speed, low end")
def _tps_low(i: FactInputs) -> float | None:
    return _speed(i, "low")


@fact("plan.decode_tps_high", "number", "estimated decode speed, high end")
def _tps_high(i: FactInputs) -> float | None:
    return _speed(i, "high")


@fact("plan.minutes_per_500_tokens", "number", "minutes a 500-token answer takes at the estimated decode speed")
def _minutes_500(i: FactInputs) -> float | None:
    tps = _speed(i, "mid")
    return 500 / tps / 60 if tps else None


@fact("request.context", "number", "context length the user asked for")
def _req_ctx(i: FactInputs) -> int | None:
    return i.ctx.requested_context


# --- licence ---------------------------------------------------------------------------------------------


@fact("licence.id", "text", "licence id from resources/licences/licences.toml")
def _lic_id(i: FactInputs) -> str:
    return i.licence.licence.id


@fact("licence.name", "text", "the licence's title")
def _lic_name(i: FactInputs) -> str:
    return i.licence.licence.name


@fact("licence.commercial", "text", "allowed, conditional, not_allowed or unknown")
def _lic_commercial(i: FactInputs) -> str:
    return i.licence.commercial


@fact("licence.summary", "text", "the licence in plain words")
def _lic_summary(i: FactInputs) -> str:
    return i.licence.licence.summary


@fact("licence.conditions", "text", "what a commercial user must do, as one paragraph")
def _lic_conditions(i: FactInputs) -> str:
    return " ".join(i.licence.licence.conditions)


@fact("licence.link", "text", "where the full licence text is published")
def _lic_link(i: FactInputs) -> str | None:
    return i.licence.licence.link or None


@fact("licence.decided_by", "text", "which label decided: repo, base_model, card, gguf, ... or none")
def _lic_decided(i: FactInputs) -> str:
    return i.licence.decided_by


@fact("licence.labels", "text", "every licence label found, for an unknown licence's explanation")
def _lic_labels(i: FactInputs) -> str | None:
    labels = [f'"{e.label}"' for e in i.licence.evidence]
    return ", ".join(labels) if labels else None


@fact("licence.disagrees", "bool", "some label contradicts the licence that applies")
def _lic_disagrees(i: FactInputs) -> bool:
    return i.licence.disagreement is not None


@fact("licence.disagreement", "text", "the disagreement, spelled out")
def _lic_disagreement(i: FactInputs) -> str | None:
    return i.licence.disagreement


def compute_facts(inputs: FactInputs, names: frozenset[str] | None = None) -> dict[str, Any]:
    """The facts a rule set uses (all of them when ``names`` is None)."""
    wanted = FACTS.values() if names is None else (FACTS[n] for n in names)
    return {spec.name: spec.compute(inputs) for spec in wanted}
