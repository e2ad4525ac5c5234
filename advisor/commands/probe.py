"""``rigfit probe``: what this machine has, as a readable summary or as a ``rigfit.hardware/1`` file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advisor.hardware.types import Gpu, Hardware


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "probe",
        help="show this machine's CPU, RAM, GPUs, disk and llama.cpp (or save them as a hardware file)",
        description="Probe this machine. --json writes the rigfit.hardware/1 file that --hardware options accept.",
    )
    p.add_argument("--json", action="store_true", help="print (or with -o, write) the hardware file as JSON")
    p.add_argument("-o", "--output", metavar="FILE", help="write the JSON hardware file here (implies --json)")
    p.add_argument("--no-bandwidth", action="store_true", help="skip the one-second RAM bandwidth measurement")
    p.add_argument("--disk", metavar="PATH", help="report free space where downloads will go (default: home)")
    p.add_argument("--label", help="a name for this machine, stored in the file")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from advisor.errors import RigfitError
    from advisor.hardware.probe import probe

    def progress(message: str) -> None:
        if not args.quiet and (args.json or args.output):
            print(f"... {message}", file=sys.stderr)

    if args.output and not Path(args.output).expanduser().absolute().parent.is_dir():
        raise RigfitError(
            f"Cannot write the hardware file {args.output}: its folder does not exist.",
            hint="Choose an existing folder, e.g. -o ~/rigfit-hardware.json.",
        )
    hw = probe(disk_path=args.disk, measure_bandwidth=not args.no_bandwidth, progress=progress)
    if args.label:
        from dataclasses import replace

        hw = replace(hw, label=args.label)
    if args.output:
        path = Path(args.output).expanduser()
        try:
            path.write_text(hw.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            raise RigfitError(
                f"Cannot write the hardware file {path}: {exc.strerror or exc}",
                hint="Choose a folder you can write to, e.g. -o ~/rigfit-hardware.json.",
            ) from exc
        print(f"Wrote hardware file {path}")
        return 0
    if args.json:
        sys.stdout.write(hw.to_json() + "\n")
        return 0
    sys.stdout.write(summary(hw))
    return 0


def _gpu_line(gpu: Gpu) -> str:
    from advisor.format import mem_size

    parts = [f"  [{gpu.index}] {gpu.name}"]
    if gpu.unified_memory:
        limit = f", GPU may use {mem_size(gpu.working_set_limit_bytes)}" if gpu.working_set_limit_bytes else ""
        parts.append(f"unified memory {mem_size(gpu.vram_total_bytes)}{limit}")
    else:
        free = f" ({mem_size(gpu.vram_free_bytes)} free)" if gpu.vram_free_bytes is not None else ""
        parts.append(f"{mem_size(gpu.vram_total_bytes)} VRAM{free}")
    if gpu.bandwidth_gbps:
        parts.append(f"{gpu.bandwidth_gbps:g} GB/s ({gpu.bandwidth_source or '?'})")
    if gpu.compute_capability:
        parts.append(f"compute {gpu.compute_capability}")
    if gpu.architecture:
        parts.append(gpu.architecture)
    if gpu.pcie_generation or gpu.pcie_width:
        parts.append(f"PCIe {gpu.pcie_generation or '?'} x{gpu.pcie_width or '?'}")
    return " | ".join(parts)


def summary(hw: Hardware) -> str:
    """The human-readable probe report (plain text, one fact per line)."""
    from advisor.format import file_size, mem_size

    cpu, mem = hw.cpu, hw.memory
    lines = [f"Machine: {hw.os or '?'} {hw.os_version or ''}{' (WSL2)' if hw.is_wsl else ''}".rstrip()]
    cores = f"{cpu.physical_cores or '?'} cores / {cpu.logical_cores or '?'} threads"
    sockets = f", {cpu.sockets} sockets" if cpu.sockets and cpu.sockets > 1 else ""
    lines.append(f"CPU:     {cpu.name or 'unknown'} ({cores}{sockets})")
    lines.append(f"         SIMD: {', '.join(cpu.features) or 'none detected'}")
    available = f", {mem_size(mem.available_bytes)} available" if mem.available_bytes is not None else ""
    lines.append(f"RAM:     {mem_size(mem.total_bytes)}{available}")
    if mem.bandwidth_gbps:
        lines.append(f"         bandwidth {mem.bandwidth_gbps:g} GB/s ({mem.bandwidth_source})")
    else:
        lines.append("         bandwidth not measured")
    if mem.limit_bytes:
        lines.append(f"         capped at {mem_size(mem.limit_bytes)}: {mem.limit_reason}")
    if hw.gpus:
        drivers = {g.driver_version for g in hw.gpus if g.driver_version}
        cuda = {g.cuda_driver_version for g in hw.gpus if g.cuda_driver_version}
        header = "GPUs:"
        if drivers:
            header += f"    NVIDIA driver {', '.join(sorted(drivers))}"
            if cuda:
                header += f" (supports CUDA up to {', '.join(sorted(cuda))})"
        lines.append(header)
        lines.extend(_gpu_line(g) for g in hw.gpus)
    else:
        lines.append("GPUs:    none found")
    if hw.disk:
        lines.append(f"Disk:    {file_size(hw.disk.free_bytes)} free at {hw.disk.path}")
    if hw.llama_cpp:
        ll = hw.llama_cpp
        cuda = f", CUDA {ll.cuda_version}" if ll.cuda_version else ""
        lines.append(f"llama.cpp: {ll.build or 'unknown build'} ({ll.backend or '?'}{cuda}) at {ll.path or '?'}")
    else:
        lines.append("llama.cpp: not found on PATH")
    if hw.nvcc:
        nvcc = hw.nvcc
        lines.append(
            f"nvcc:    CUDA {nvcc.version or '?'} (nvcc V{nvcc.compiler_version or '?'}) at {nvcc.path or '?'}"
        )
    if hw.notes:
        lines.append("Notes:")
        lines.extend(f"  - {note}" for note in hw.notes)
    return "\n".join(lines) + "\n"
