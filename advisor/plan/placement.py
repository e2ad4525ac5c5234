"""Choose the placement a skilled llama.cpp user would choose, and the largest context it leaves room for.

Order of preference (first that fits wins): everything on one GPU; split over all GPUs with ``-ts`` proportional to
free memory; for MoE, every layer on the GPUs with the routed experts of the first N blocks in RAM (smallest N,
``--n-cpu-moe``); ``-ngl`` as high as fits; CPU only. Unified-memory machines (Apple, Strix Halo, DGX Spark) have one
pool bounded by the GPU working-set limit. When the anonymous memory fits in RAM but the memory-mapped weights do not,
the placement still runs with weights streamed from disk through the page cache (``disk_stream``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from advisor.hardware.types import Hardware
from advisor.model.types import ModelFacts, WeightMap
from advisor.plan.memory import (
    GIB,
    DeviceSpec,
    MemoryRequest,
    anonymous_bytes,
    assign_layers,
    cpu_device,
    device_memory,
    gpu_devices,
    memory_constants,
)
from advisor.plan.types import DeviceMemory, Placement, PlanOptions, Verdict


class Fit(enum.Enum):
    FITS = "fits"  # every device holds its share, weights included
    STREAM = "stream"  # GPUs and anonymous RAM fit; mapped weights exceed RAM and are re-read from disk
    NO = "no"


@dataclass(frozen=True)
class Layout:
    """A concrete llama.cpp configuration: which devices, -ngl, --n-cpu-moe, -ts."""

    devices: tuple[DeviceSpec, ...]  # the CPU first
    n_gpu_layers: int
    n_cpu_moe: int = 0
    tensor_split: tuple[float, ...] | None = None
    main_gpu: int | None = None  # single GPU chosen on a multi-GPU machine (-sm none -mg i)
    rpc_servers: tuple[str, ...] = ()  # host:port of each worker, in --rpc order

    def placement(self, kv_offload: bool = True) -> Placement:
        return Placement(
            n_gpu_layers=self.n_gpu_layers,
            n_cpu_moe=self.n_cpu_moe or None,
            tensor_split=self.tensor_split,
            kv_offload=kv_offload,
            rpc_servers=self.rpc_servers,
        )


@dataclass(frozen=True)
class PlacementChoice:
    verdict: Verdict
    reason: str
    layout: Layout
    memory: tuple[DeviceMemory, ...]
    fit: Fit


def evaluate(
    facts: ModelFacts, weights: WeightMap, layout: Layout, request: MemoryRequest
) -> tuple[tuple[DeviceMemory, ...], Fit]:
    gpu_idx = list(range(1, len(layout.devices)))
    assignment = assign_layers(
        facts.block_count,
        gpu_idx,
        n_gpu_layers=layout.n_gpu_layers if gpu_idx else 0,
        split=layout.tensor_split,
        n_cpu_moe=layout.n_cpu_moe,
    )
    rows = device_memory(facts, weights, layout.devices, assignment, request)
    return rows, fit_of(rows)


def fit_of(rows: Sequence[DeviceMemory]) -> Fit:
    """Whether these rows fit their devices; unified rows share the RAM with the CPU row."""
    cpu = rows[0]
    ram_anon = anonymous_bytes(cpu)
    ram_all = cpu.total_bytes
    for row in rows[1:]:
        if row.capacity_bytes is not None and row.total_bytes > row.capacity_bytes:
            return Fit.NO
        if row.kind == "unified" and row.machine is None:  # the head's own unified pool shares its RAM
            ram_anon += row.total_bytes
            ram_all += row.total_bytes
    capacity = cpu.capacity_bytes or 0
    if ram_anon > capacity:
        return Fit.NO
    return Fit.FITS if ram_all <= capacity else Fit.STREAM


def largest_true(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """Largest x in [lo, hi] with ok(x), for ok true up to some point then false; None if ok(lo) is false."""
    if hi < lo or not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def smallest_true(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """Smallest x in [lo, hi] with ok(x), for ok false up to some point then true; None if ok(hi) is false."""
    if hi < lo or not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _gpus_fit(rows: Sequence[DeviceMemory]) -> bool:
    return all(r.capacity_bytes is None or r.total_bytes <= r.capacity_bytes for r in rows[1:])


def _split_for(gpus: Sequence[DeviceSpec]) -> tuple[float, ...]:
    """-ts proportional to the memory each GPU has free after its reserve, in GiB with one decimal."""
    return tuple(round(max(0, (g.capacity_bytes or 0) - g.reserve_bytes) / GIB, 1) for g in gpus)


def _greedy_split(
    n_gpus: int, slots: int, rows_for: Callable[[tuple[float, ...]], Sequence[DeviceMemory]]
) -> tuple[float, ...] | None:
    """Whole-layer counts per GPU, filling each in llama.cpp's order as far as it holds; used as -ts when the split
    by free memory leaves one GPU short because layers cannot be cut (a count split gives exactly those layers)."""
    counts: list[int] = []
    remaining = slots
    for k in range(n_gpus - 1):

        def fits(c: int, k: int = k, remaining: int = remaining) -> bool:
            ts = (*counts, c, remaining - c) + (0,) * (n_gpus - k - 2)
            row = rows_for(tuple(float(x) for x in ts))[k + 1]
            return row.capacity_bytes is None or row.total_bytes <= row.capacity_bytes

        best = largest_true(0, remaining, fits)
        counts.append(best or 0)
        remaining -= best or 0
    counts.append(remaining)
    return tuple(float(c) for c in counts)


def _gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


def choose_placement(
    facts: ModelFacts, weights: WeightMap, hardware: Hardware, request: MemoryRequest, options: PlanOptions
) -> PlacementChoice:
    """The best placement for one option at the requested context, and its verdict with a one-line reason."""
    cpu = cpu_device(hardware)
    gpus = gpu_devices(hardware, options)
    full = facts.block_count + 1

    def run(layout: Layout) -> tuple[tuple[DeviceMemory, ...], Fit]:
        return evaluate(facts, weights, layout, request)

    def choice(verdict: Verdict, reason: str, layout: Layout) -> PlacementChoice:
        rows, fit = run(layout)
        if fit is Fit.STREAM and verdict is not Verdict.IMPOSSIBLE:
            ram = rows[0].capacity_bytes or 0
            reason = (
                f"{reason}; but the {_gib(rows[0].weights_bytes)} of weights kept in RAM exceed the "
                f"{_gib(ram)} of RAM, so they are streamed from disk through the page cache (slow)"
            )
            verdict = Verdict.DISK_STREAM
        return PlacementChoice(verdict, reason, layout, rows, fit)

    unified = [g for g in gpus if g.kind == "unified"]
    discrete = sorted((g for g in gpus if g.kind == "gpu"), key=lambda g: -(g.capacity_bytes or 0))

    if unified:
        pool = unified[0]
        layout = Layout((cpu, pool), full)
        rows, fit = run(layout)
        if fit is Fit.FITS:
            return choice(
                Verdict.UNIFIED, f"everything in unified memory ({_gib(rows[1].total_bytes)} on {pool.name})", layout
            )
        ngl = largest_true(0, full, lambda k: run(replace(layout, n_gpu_layers=k))[1] is not Fit.NO)
        if ngl:
            layout = replace(layout, n_gpu_layers=ngl)
            return choice(
                Verdict.PARTIAL_OFFLOAD,
                f"{ngl} of {full} layers fit the GPU working-set limit of {_gib(pool.capacity_bytes or 0)}",
                layout,
            )
    elif discrete:
        # 1. one GPU holds everything
        for gpu in discrete:
            index = int("".join(ch for ch in gpu.name if ch.isdigit()) or 0)
            layout = Layout((cpu, gpu), full, main_gpu=(index if len(discrete) > 1 else None))
            rows, fit = run(layout)
            if fit is Fit.FITS:
                return choice(Verdict.GPU, f"all {full} layers and the KV cache fit on {gpu.name}", layout)
        # 2. split over every GPU
        in_order = tuple(g for g in gpus if g.kind == "gpu")  # llama.cpp's device order, which -ts follows
        every = (cpu, *in_order)
        split = _split_for(in_order) if len(in_order) > 1 else None
        if split:
            layout = Layout(every, full, tensor_split=split)
            rows, fit = run(layout)
            if fit is not Fit.FITS:
                counts = _greedy_split(len(in_order), full, lambda ts: run(replace(layout, tensor_split=ts))[0])
                if counts:
                    layout = replace(layout, tensor_split=counts)
                    rows, fit = run(layout)
            if fit is Fit.FITS:
                return choice(
                    Verdict.MULTI_GPU,
                    f"all layers split over {len(in_order)} GPUs in proportion to free memory",
                    layout,
                )
        # 3. MoE: smallest --n-cpu-moe that lets every layer's dense part and KV sit on the GPUs
        if facts.is_moe:
            base = Layout(every, full, tensor_split=split)
            n_moe = smallest_true(1, facts.block_count, lambda n: _gpus_fit(run(replace(base, n_cpu_moe=n))[0]))
            if n_moe is not None:
                layout = replace(base, n_cpu_moe=n_moe)
                rows, fit = run(layout)
                if fit is not Fit.NO:
                    return choice(
                        Verdict.EXPERTS_ON_CPU,
                        f"attention, dense weights and KV cache on the GPU; the experts of the first {n_moe} of "
                        f"{facts.block_count} layers in RAM",
                        layout,
                    )
        # 4. as many layers as fit (MoE: with every expert in RAM)
        base = Layout(every, full, tensor_split=split, n_cpu_moe=facts.block_count if facts.is_moe else 0)
        ngl = largest_true(1, full, lambda k: _gpus_fit(run(replace(base, n_gpu_layers=k))[0]))
        if ngl:
            layout = replace(base, n_gpu_layers=ngl)
            rows, fit = run(layout)
            if fit is not Fit.NO:
                return choice(
                    Verdict.PARTIAL_OFFLOAD, f"{ngl} of {full} layers on the GPU, the rest on the CPU", layout
                )

    # 5. CPU only. Weights streamed from disk must all stay file mappings, so when RAM cannot hold everything the
    # plan is made without the CPU backend's repacked copies (the command then says --no-repack)
    layout = Layout((cpu,), 0)
    rows, fit = run(layout)
    if fit is not Fit.FITS and request.repack:
        request = replace(request, repack=False)
        rows, fit = run(layout)
    if fit is Fit.FITS:
        why = "no usable GPU" if not gpus else "too little GPU memory to help"
        return choice(Verdict.CPU, f"runs on the CPU from RAM ({why})", layout)
    if fit is Fit.STREAM:
        return choice(Verdict.CPU, "runs on the CPU", layout)
    cpu_row = rows[0]
    need = anonymous_bytes(cpu_row)
    reason = (
        f"the KV cache ({_gib(cpu_row.kv_bytes)}) and compute buffers ({_gib(cpu_row.compute_bytes)}) alone need "
        f"{_gib(need)} of RAM with the OS reserve, more than the {_gib(cpu_row.capacity_bytes or 0)} this machine has"
    )
    if gpus:
        reason += ", and no GPU can hold them"
    return PlacementChoice(Verdict.IMPOSSIBLE, reason, layout, rows, fit)


@dataclass(frozen=True)
class Worker:
    """An RPC worker: its hardware, the name it is shown by, and the endpoint the head connects to."""

    hardware: Hardware
    label: str
    endpoint: str  # "host:port"


def cluster_workers(machines: Sequence[Hardware], port: int) -> tuple[Worker, ...]:
    """Every machine after the head, named by its label or hostname (or "worker N" when it has neither)."""
    out = []
    for n, hw in enumerate(machines[1:], start=1):
        label = hw.label or hw.hostname or f"worker{n}"
        host = hw.hostname or hw.label or f"worker{n}"
        out.append(Worker(hw, label, f"{host}:{port}"))
    return tuple(out)


def choose_cluster_placement(
    facts: ModelFacts,
    weights: WeightMap,
    head: Hardware,
    workers: Sequence[Worker],
    request: MemoryRequest,
    options: PlanOptions,
) -> PlacementChoice:
    """Every layer over the head's GPUs and the workers' devices (RPC devices first, as llama.cpp orders them),
    ``-ts`` in proportion to free memory; impossible with the shortfall when even the cluster cannot hold it."""
    from advisor.plan.memory import rpc_devices

    cpu = cpu_device(head)
    remote: list[DeviceSpec] = []
    for worker in workers:
        remote.extend(rpc_devices(worker.hardware, options, machine=worker.label, first_index=len(remote)))
    local = gpu_devices(head, options)
    pools = (*remote, *local)
    full = facts.block_count + 1
    split = _split_for(pools)
    layout = Layout((cpu, *pools), full, tensor_split=split, rpc_servers=tuple(w.endpoint for w in workers))

    def run(candidate: Layout) -> tuple[tuple[DeviceMemory, ...], Fit]:
        return evaluate(facts, weights, candidate, request)

    rows, fit = run(layout)
    if fit is not Fit.FITS:
        counts = _greedy_split(len(pools), full, lambda ts: run(replace(layout, tensor_split=ts))[0])
        if counts:
            candidate = replace(layout, tensor_split=counts)
            cand_rows, cand_fit = run(candidate)
            if cand_fit is Fit.FITS:
                layout, rows, fit = candidate, cand_rows, cand_fit
    names = ", ".join(w.label for w in workers)
    if fit is Fit.FITS:
        return PlacementChoice(
            Verdict.RPC_CLUSTER,
            f"only the cluster holds it: every layer split over this machine and {names} with llama.cpp RPC",
            layout,
            rows,
            fit,
        )
    need = sum(r.total_bytes - r.other_bytes for r in rows[1:])
    have = sum(max(0, (r.capacity_bytes or 0) - r.other_bytes) for r in rows[1:])
    reason = (
        f"even this machine and {names} together cannot hold it: the weights, KV cache and buffers need "
        f"{_gib(need)} and their GPUs and workers offer {_gib(have)}, {_gib(max(0, need - have))} short"
    )
    return PlacementChoice(Verdict.IMPOSSIBLE, reason, layout, rows, fit)


def max_context(
    facts: ModelFacts,
    weights: WeightMap,
    layout: Layout,
    request: MemoryRequest,
    *,
    allow_stream: bool,
) -> int:
    """Largest context (a multiple of llama.cpp's 256-cell padding, up to the trained length) this layout holds."""
    step = memory_constants().context_pad
    top = max(1, facts.context_length // step)

    def ok(units: int) -> bool:
        _, fit = evaluate(facts, weights, layout, replace(request, context=units * step))
        return fit is Fit.FITS or (allow_stream and fit is Fit.STREAM)

    best = largest_true(1, top, ok)
    return best * step if best else 0


__all__ = [
    "Fit",
    "Layout",
    "PlacementChoice",
    "Worker",
    "choose_cluster_placement",
    "choose_placement",
    "cluster_workers",
    "evaluate",
    "fit_of",
    "largest_true",
    "max_context",
    "smallest_true",
]
