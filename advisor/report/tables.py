"""The report's content as plain rows, so Markdown, HTML and PDF show the same facts in the same order."""

from __future__ import annotations

from dataclasses import dataclass

from advisor import format as fmt
from advisor.hardware.types import Gpu, Hardware
from advisor.plan.types import OptionPlan, Plan


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _gbps(x: float | None, source: str | None) -> str:
    if x is None:
        return "unknown"
    return f"{x:.0f} GB/s" + (f" ({source})" if source else "")


def machine_facts(hw: Hardware) -> Table:
    cpu, mem = hw.cpu, hw.memory
    rows = [
        ("CPU", cpu.name or "unknown"),
        ("Cores", f"{cpu.physical_cores or '?'} physical, {cpu.logical_cores or '?'} logical"),
        ("CPU features", ", ".join(cpu.features) or "none detected"),
        ("RAM", f"{fmt.mem_size(mem.total_bytes)} total, {fmt.mem_size(mem.available_bytes)} available"),
        ("RAM bandwidth", _gbps(mem.bandwidth_gbps, mem.bandwidth_source)),
    ]
    if mem.limit_bytes:
        rows.append(("Memory limit", f"{fmt.mem_size(mem.limit_bytes)} ({mem.limit_reason or 'OS limit'})"))
    if hw.os:
        rows.append(
            ("Operating system", " ".join(x for x in (hw.os, hw.os_version) if x) + (" (WSL)" if hw.is_wsl else ""))
        )
    if hw.disk:
        rows.append(("Download disk", f"{hw.disk.path}: {fmt.file_size(hw.disk.free_bytes)} free"))
    lc = hw.llama_cpp
    rows.append(
        (
            "llama.cpp",
            "not found"
            if lc is None
            else ", ".join(
                x for x in (lc.build, lc.backend, f"CUDA {lc.cuda_version}" if lc.cuda_version else None) if x
            )
            or "found, version unknown",
        )
    )
    rows.append(("nvcc", "not found" if hw.nvcc is None else (hw.nvcc.version or "found, version unknown")))
    if hw.hostname:
        rows.append(("Hostname", hw.hostname))
    return Table(title="Machine" + (f": {hw.label}" if hw.label else ""), header=("", ""), rows=tuple(rows))


def _gpu_row(g: Gpu) -> tuple[str, ...]:
    return (
        str(g.index),
        g.name,
        fmt.mem_size(g.vram_total_bytes) + (" (shared)" if g.unified_memory else ""),
        fmt.mem_size(g.vram_free_bytes),
        _gbps(g.bandwidth_gbps, g.bandwidth_source),
        g.compute_capability or "—",
        g.driver_version or "—",
        g.cuda_driver_version or "—",
    )


def gpus(hw: Hardware) -> Table:
    return Table(
        title="GPUs",
        header=("#", "GPU", "Memory", "Free", "Bandwidth", "Compute cap.", "Driver", "CUDA (driver)"),
        rows=tuple(_gpu_row(g) for g in hw.gpus),
    )


def model_facts(plan: Plan) -> Table:
    m = plan.model
    rows = [
        ("Model", m.name),
        ("Architecture", m.architecture),
        ("Parameters", f"{fmt.params(m.total_params)} total, {fmt.params(m.active_params)} active per token"),
        ("Trained context", fmt.context_tokens(m.context_length)),
        ("Planned context", fmt.context_tokens(plan.context)),
    ]
    if m.repo:
        rows.append(("Repository", m.repo))
    if m.licence:
        rows.append(
            ("Licence", f"{m.licence} (commercial use: {(m.licence_commercial or 'unknown').replace('_', ' ')})")
        )
    return Table(title="Model", header=("", ""), rows=tuple(rows))


def options(plan: Plan) -> Table:
    rows = []
    for o in plan.options:
        worst = o.worst_severity
        rows.append(
            (
                o.quant + (" ★" if o.quant == plan.recommended else ""),
                fmt.file_size(o.size_bytes),
                fmt.verdict_label(o.verdict),
                fmt.context_tokens(o.max_context.get("f16")),
                fmt.speed_range(o.decode_tps),
                worst.value if worst else "none",
            )
        )
    return Table(
        title="Quantizations",
        header=("Quant", "Size", "Verdict", "Max context (f16 KV)", "Decode", "Worst risk"),
        rows=tuple(rows),
    )


def memory(option: OptionPlan) -> Table:
    rows = tuple(
        (
            d.device + (f" ({d.machine})" if d.machine else ""),
            fmt.mem_size(d.weights_bytes),
            fmt.mem_size(d.kv_bytes),
            fmt.mem_size(d.compute_bytes + d.output_bytes),
            fmt.mem_size(d.other_bytes),
            fmt.mem_size(d.total_bytes),
            fmt.mem_size(d.capacity_bytes),
        )
        for d in option.memory
    )
    return Table(
        title="Memory per device",
        header=("Device", "Weights", "KV cache", "Compute", "Reserve", "Total", "Capacity"),
        rows=rows,
    )


def option_summary(option: OptionPlan) -> Table:
    p = option.placement
    placement = []
    if p.n_gpu_layers is not None:
        placement.append(f"-ngl {p.n_gpu_layers}")
    if p.n_cpu_moe:
        placement.append(f"--n-cpu-moe {p.n_cpu_moe}")
    if p.tensor_split:
        placement.append("-ts " + ",".join(f"{x:g}" for x in p.tensor_split))
    rows = [
        ("Verdict", f"{fmt.verdict_label(option.verdict)}: {option.verdict_reason}"),
        ("Download size", f"{fmt.file_size(option.size_bytes)} in {len(option.files)} file(s)"),
        ("Placement", " ".join(placement) or "default"),
        ("Context", fmt.context_tokens(option.context)),
        (
            "Largest context",
            ", ".join(f"{fmt.context_tokens(v)} ({k} KV)" for k, v in option.max_context.items()) or "—",
        ),
        (
            "Longest context, any placement (planned KV type)",
            fmt.context_tokens(option.longest_context)
            if option.longest_context
            else "none: no placement holds it in memory",
        ),
        ("Decode (empty context)", fmt.speed_range(option.decode_tps)),
        ("Decode (at planned context)", fmt.speed_range(option.decode_tps_at_context)),
        ("Prompt processing", fmt.speed_range(option.prefill_tps)),
    ]
    if option.estimate_basis:
        rows.append(("Speed estimate basis", option.estimate_basis))
    return Table(title=f"Chosen option: {option.quant}", header=("", ""), rows=tuple(rows))
