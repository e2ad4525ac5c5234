"""``rigfit plan MODEL``: which quantizations run on this machine, where, how fast, and the command to run one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from advisor.errors import RigfitError
from advisor.format import context_tokens
from advisor.hardware.types import Hardware, load_hardware_file
from advisor.model.types import Model
from advisor.plan.types import OptionPlan, Plan, PlanOptions, Verdict

KV_CHOICES = ("f16", "q8_0", "q4_0")
#: The table stays readable on a terminal; `--json` and the risk list below the table carry the full text.
RISK_TITLE_WIDTH = 40

VERDICT_WORDS = {
    Verdict.GPU: "fits on the GPU",
    Verdict.MULTI_GPU: "fits on the GPUs",
    Verdict.EXPERTS_ON_CPU: "GPU + experts in RAM",
    Verdict.PARTIAL_OFFLOAD: "partly on the GPU",
    Verdict.UNIFIED: "fits in unified memory",
    Verdict.CPU: "CPU only",
    Verdict.DISK_STREAM: "streams from disk (slow)",
    Verdict.RPC_CLUSTER: "needs several machines",
    Verdict.IMPOSSIBLE: "does not run",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="plan every quantization of a model for this machine (or a saved hardware file)",
        description="Say which quantizations of MODEL run here, where llama.cpp would put them, the largest "
        "context, the expected speed, the risks, and the llama-server command.",
    )
    parser.add_argument("model", metavar="MODEL", help="catalog id, Hugging Face repo id, or a local .gguf file")
    parser.add_argument(
        "--hardware",
        action="append",
        metavar="[NAME[@ADDRESS]=]FILE",
        help="a hardware file (rigfit probe --json) instead of probing this machine; repeat it to add RPC "
        "workers (the first file is the head). NAME labels the machine (default: the file's label or name), "
        "ADDRESS is where the head reaches its rpc-server (default: NAME)",
    )
    # --- rpc (issue 11): the link between the machines of an RPC cluster
    parser.add_argument("--link", choices=_link_choices(), help="network between the machines (default: 1gbe)")
    parser.add_argument("--link-gbps", type=float, metavar="G", help="measured link speed in Gbit/s (iperf3)")
    parser.add_argument("--link-latency-ms", type=float, metavar="MS", help="measured round trip in ms (ping)")
    # --- end rpc
    parser.add_argument("--context", type=int, metavar="N", help="context length in tokens (default: up to 32768)")
    parser.add_argument("--kv-type", choices=KV_CHOICES, default="f16", help="KV cache type for K and V")
    parser.add_argument(
        "--flash-attn",
        choices=("on", "off", "auto"),
        default="auto",
        help="flash attention as llama.cpp's -fa (auto: on); a quantized V cache needs it on",
    )
    parser.add_argument("--quant", action="append", metavar="Q", help="plan only this quantization (repeatable)")
    parser.add_argument("--download-dir", metavar="DIR", help="where the files will be, for the command line")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON (rigfit.plan/1)")
    parser.set_defaults(handler=run)


def resolve(name: str) -> Model:
    """The model behind MODEL: the resolver when this build has it, else the bundled catalog."""
    try:
        from advisor.model.resolve import resolve_model
    except ModuleNotFoundError as exc:
        if exc.name not in ("advisor.model.resolve",):
            raise
    else:
        return resolve_model(name, progress=lambda line: print(line, file=sys.stderr))
    try:
        from advisor.model.catalog import load_catalog_model
    except ModuleNotFoundError as exc:
        if exc.name not in ("advisor.model.catalog",):
            raise
        raise RigfitError(
            "This build of Rigfit cannot look models up yet.", hint="Update Rigfit, or plan from the app."
        ) from exc
    return load_catalog_model(name)


def _link_choices() -> tuple[str, ...]:
    from advisor.plan.cluster import link_names

    return link_names()


def load_machine(spec: str) -> Hardware:
    """``FILE``, ``NAME=FILE`` or ``NAME@ADDRESS=FILE``: the hardware file, labelled (rpc, issue 11)."""
    from advisor.plan.cluster import parse_machine_spec

    name, address, path = parse_machine_spec(spec)
    hardware = load_hardware_file(path)
    label = name or hardware.label or Path(path).stem
    return replace(hardware, label=label, hostname=address or hardware.hostname)


def machines(files: Sequence[str] | None, download_dir: str | None = None) -> tuple[Hardware, ...]:
    """The machines to plan for: the hardware files given, else this machine probed (disk = the download dir)."""
    if files:
        return tuple(load_machine(spec) for spec in files)
    try:
        from advisor.hardware.probe import probe
    except ModuleNotFoundError as exc:
        if exc.name not in ("advisor.hardware.probe",):
            raise
        raise RigfitError(
            "This build of Rigfit cannot probe the machine yet.", hint="Pass a hardware file with --hardware FILE."
        ) from exc
    return (probe(disk_path=download_dir),)


def run(args: argparse.Namespace) -> int:
    from advisor.plan.planner import plan

    if args.context is not None and args.context <= 0:
        raise RigfitError(f"--context must be a positive number of tokens, not {args.context}.")
    hardware = machines(args.hardware, args.download_dir)
    model = resolve(args.model)
    options = PlanOptions(
        context=args.context,
        kv_type_k=args.kv_type,
        kv_type_v=args.kv_type,
        flash_attention={"on": True, "off": False}.get(args.flash_attn),
        quants=tuple(args.quant) if args.quant else None,
        download_dir=args.download_dir,
        link=args.link,
        link_gbps=args.link_gbps,
        link_latency_ms=args.link_latency_ms,
    )
    result = plan(model, hardware, options)
    print(result.to_json() if args.json else render(result))
    return 0


# --------------------------------------------------------------------------------------------- human output


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def _contexts(o) -> str:
    """'33K / 64K' for this placement's f16 / q8_0 cache, plus '(192K)' when another placement goes further."""
    here = f"{_context(o.max_context.get('f16'))} / {_context(o.max_context.get('q8_0'))}"
    best_here = max(o.max_context.values(), default=0)
    return f"{here} ({_context(o.longest_context)})" if o.longest_context > best_here else here


def _context(n: int | None) -> str:
    """The GUI's and the report's context figure ('34K', rounded down), with the table's '-' for none."""
    return context_tokens(n) if n else "-"


def placement_words(opt: OptionPlan) -> str:
    p = opt.placement
    if opt.verdict is Verdict.IMPOSSIBLE:
        return "-"
    parts = []
    if p.n_gpu_layers:
        parts.append(f"-ngl {p.n_gpu_layers}")
    if p.n_cpu_moe:
        parts.append(f"--n-cpu-moe {p.n_cpu_moe}")
    if p.tensor_split:
        parts.append("-ts " + ",".join(f"{x:g}" for x in p.tensor_split))
    if p.rpc_servers:
        parts.append(f"+{len(p.rpc_servers)} RPC")
    return " ".join(parts) or "CPU"


def speed_words(opt: OptionPlan) -> str:
    if opt.decode_tps is None:
        return "-"
    r = opt.decode_tps
    fmt = "{:.0f}" if r.mid >= 10 else "{:.1f}"
    return f"{fmt.format(r.low)}-{fmt.format(r.high)}"


def risk_words(opt: OptionPlan) -> str:
    if not opt.risks:
        return "-"
    worst = max(opt.risks, key=lambda r: r.severity.rank)
    more = f" (+{len(opt.risks) - 1})" if len(opt.risks) > 1 else ""
    title = worst.title if len(worst.title) <= RISK_TITLE_WIDTH else worst.title[: RISK_TITLE_WIDTH - 1] + "…"
    return f"{worst.severity.value}: {title}{more}"


def render(result: Plan) -> str:
    """The plan as a table a user can read at a glance, then the recommendation and its command."""
    m = result.model
    head = result.hardware[0] if result.hardware else None
    kv = result.request.kv_type_k
    lines = [
        f"{m.name} ({m.architecture}, {m.total_params / 1e9:.1f}B parameters, {m.active_params / 1e9:.1f}B active)",
        f"Context {context_tokens(result.context)} tokens, {kv} KV cache"
        + (f", on {_machine_words(head)}" if head else ""),
        "",
    ]
    header = ("Quant", "Size", "Verdict", "Placement", "Context f16/q8 (any)", "Tokens/s", "Worst risk")
    rows = [
        (
            o.quant,
            _size(o.size_bytes),
            VERDICT_WORDS.get(o.verdict, o.verdict.value),
            placement_words(o),
            _contexts(o),
            speed_words(o),
            risk_words(o),
        )
        for o in result.options
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        lines.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    notes = [
        f"{o.quant}: {o.verdict_reason}."
        for o in result.options
        if o.verdict in (Verdict.IMPOSSIBLE, Verdict.DISK_STREAM)
    ]
    if notes:
        lines += ["", *notes]
    if result.recommended:
        rec = result.option(result.recommended)
        lines += ["", f"Recommended: {rec.quant}. {result.recommended_reason}"]
        if rec.machine_commands:
            for cmd in rec.machine_commands:
                lines.append(f"  on {cmd.machine} ({cmd.role}): {cmd.command}")
                if cmd.note:
                    lines.append(f"    note: {cmd.note}")
        else:
            lines.append(f"  {rec.llama_cpp_command}")
        lines.extend(f"  {line}" for line in memory_lines(rec))
        for risk in sorted(rec.risks, key=lambda r: -r.severity.rank):
            lines.append(f"  {risk.severity.value}: {risk.title}. {risk.remedy or ''}".rstrip())
    elif result.recommended_reason:
        lines += ["", result.recommended_reason]
    return "\n".join(lines)


def memory_lines(opt: OptionPlan) -> list[str]:
    """One line per device: what it holds out of what it has (GiB)."""
    out = []
    for row in opt.memory:
        if not row.total_bytes:
            continue
        where = f"{row.device} on {row.machine}" if row.machine else row.device
        have = f" of {row.capacity_bytes / 2**30:.1f}" if row.capacity_bytes else ""
        parts = [
            f"weights {row.weights_bytes / 2**30:.1f}",
            f"KV {row.kv_bytes / 2**30:.1f}",
            f"compute {(row.compute_bytes + row.output_bytes) / 2**30:.1f}",
            f"reserve {row.other_bytes / 2**30:.1f}",
        ]
        if row.mapped_weights_bytes:
            parts.append(f"{row.mapped_weights_bytes / 2**30:.1f} of the weights memory-mapped")
        out.append(f"{where}: {row.total_bytes / 2**30:.1f}{have} GiB ({', '.join(parts)})")
    return out


def _machine_words(hw: Hardware) -> str:
    ram = f"{hw.memory.total_bytes / 2**30:.3g} GiB RAM"
    gpus = ", ".join(g.name for g in hw.gpus)
    return f"{gpus} + {ram}" if gpus else ram
