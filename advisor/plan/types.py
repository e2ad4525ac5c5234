"""A plan: for each quantization, where llama.cpp would put every byte, how fast it runs, what could go wrong.

``Plan`` is the one result the CLI table, the JSON output, the GUI and the report all render, so they can
never disagree. Serialises as ``rigfit.plan/1``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from advisor.hardware.types import Hardware
from advisor.model.types import RepoFile, option_named
from advisor.serialize import to_dict

PLAN_SCHEMA = "rigfit.plan/1"


class Verdict(enum.StrEnum):
    GPU = "gpu"  # everything on one GPU
    MULTI_GPU = "multi_gpu"  # split over several GPUs with -ts
    EXPERTS_ON_CPU = "experts_on_cpu"  # attention, dense weights and KV on GPU; experts of N layers in RAM
    PARTIAL_OFFLOAD = "partial_offload"  # dense model, -ngl as high as fits
    UNIFIED = "unified"  # one memory pool (Apple, Strix Halo, DGX Spark)
    CPU = "cpu"
    DISK_STREAM = "disk_stream"  # weights exceed RAM: runs from page cache, slowly
    RPC_CLUSTER = "rpc_cluster"  # only several machines together hold it
    IMPOSSIBLE = "impossible"

    @property
    def runs(self) -> bool:
        return self is not Verdict.IMPOSSIBLE


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True)
class Risk:
    id: str
    severity: Severity
    title: str
    explanation: str
    remedy: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked for; None means 'choose for me'."""

    context: int | None = None  # tokens; None: the planner picks a sensible default for the model
    kv_type_k: str = "f16"
    kv_type_v: str = "f16"
    flash_attention: bool | None = None  # None: llama.cpp's auto
    ubatch: int = 512
    batch: int = 2048
    parallel: int = 1
    mmap: bool = True
    quants: tuple[str, ...] | None = None  # plan only these
    download_dir: str | None = None
    #: Per-GPU margin llama.cpp's --fit keeps free (its default is 1024 MiB).
    gpu_margin_bytes: int = 1024 * 1024 * 1024
    #: RPC clusters (issue 11): the link between the machines, a preset of resources/specs/network.toml
    #: ("1gbe", "2.5gbe", "10gbe", "usb4", "tb4"; None: the file's default), or measured figures that override it.
    link: str | None = None
    link_gbps: float | None = None
    link_latency_ms: float | None = None


@dataclass(frozen=True)
class Placement:
    n_gpu_layers: int | None = None
    n_cpu_moe: int | None = None
    tensor_split: tuple[float, ...] | None = None
    kv_offload: bool = True
    rpc_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceMemory:
    """What one device holds for one option, in bytes."""

    device: str  # llama.cpp's buffer name: "CUDA0", "Metal", "ROCm0", "CPU"
    kind: str  # "gpu", "cpu", "unified"
    weights_bytes: int = 0
    kv_bytes: int = 0
    compute_bytes: int = 0
    output_bytes: int = 0
    other_bytes: int = 0  # reserve: driver/CUDA context, --fit margin, OS headroom
    capacity_bytes: int | None = None
    #: Weights that stay memory-mapped (page cache) rather than copied into anonymous memory.
    mapped_weights_bytes: int = 0
    #: Weight bytes one decode token reads on this device (dense fully, experts x used / count).
    decode_read_bytes: int = 0
    #: KV bytes per token of context held on this device (decode reads depth x this).
    kv_bytes_per_token: int = 0
    bandwidth_gbps: float | None = None
    machine: str | None = None  # label of the machine, for RPC clusters

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.compute_bytes + self.output_bytes + self.other_bytes


@dataclass(frozen=True)
class SpeedRange:
    low: float
    mid: float
    high: float


@dataclass(frozen=True)
class SpeedEstimate:
    decode_tps: SpeedRange | None = None  # empty context (llama-bench tg128)
    prefill_tps: SpeedRange | None = None  # llama-bench pp512
    decode_tps_at_context: SpeedRange | None = None  # at the planned context depth
    estimate_basis: str = ""  # "calibration v1 (published llama-bench)", "scaled by your measured run"


@dataclass(frozen=True)
class MachineCommand:
    """One command to run on one machine (the head, or an RPC worker)."""

    machine: str
    role: str  # "head", "rpc-worker"
    command: str
    note: str | None = None


@dataclass(frozen=True)
class OptionPlan:
    quant: str
    files: tuple[RepoFile, ...]
    size_bytes: int
    verdict: Verdict
    verdict_reason: str
    placement: Placement = field(default_factory=Placement)
    memory: tuple[DeviceMemory, ...] = ()
    context: int = 0
    max_context: dict[str, int] = field(default_factory=dict)  # by KV cache type: {"f16": .., "q8_0": ..}
    #: The longest context (the plan's KV type) that runs from memory with any placement, not just this one's;
    #: 0 when nothing does. At least ``max_context`` of that type.
    longest_context: int = 0
    decode_tps: SpeedRange | None = None
    prefill_tps: SpeedRange | None = None
    decode_tps_at_context: SpeedRange | None = None
    estimate_basis: str | None = None
    risks: tuple[Risk, ...] = ()
    llama_cpp_command: str = ""
    llama_cpp_argv: tuple[str, ...] = ()
    machine_commands: tuple[MachineCommand, ...] = ()
    tensor_types: tuple[str, ...] = ()

    @property
    def worst_severity(self) -> Severity | None:
        return max((r.severity for r in self.risks), key=lambda s: s.rank, default=None)


@dataclass(frozen=True)
class ModelSummary:
    id: str
    name: str
    architecture: str
    total_params: int
    active_params: int
    context_length: int
    repo: str | None = None
    licence: str | None = None  # the licence id the risk engine settled on
    licence_commercial: str | None = None  # "allowed", "conditional", "not_allowed", "unknown"


@dataclass(frozen=True)
class Plan:
    model: ModelSummary
    hardware: tuple[Hardware, ...]  # one machine, or the head first then RPC workers
    context: int
    request: PlanOptions
    options: tuple[OptionPlan, ...]
    recommended: str | None = None
    recommended_reason: str | None = None

    def option(self, quant: str) -> OptionPlan:
        found = option_named(self.options, quant)
        if found is None:
            raise KeyError(quant)
        return found

    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        for opt, planned in zip(data["options"], self.options, strict=True):
            # issue 4's shape: memory {devices[] {..., total_bytes}}
            opt["memory"] = {
                "devices": [
                    {**row, "total_bytes": dev.total_bytes}
                    for row, dev in zip(opt["memory"], planned.memory, strict=True)
                ]
            }
        data["hardware"] = self.hardware[0].to_dict() if self.hardware else None
        data["machines"] = [h.to_dict() for h in self.hardware]
        return {"schema": PLAN_SCHEMA, **data}

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
