"""Words and units for people: one place, so the CLI, the GUI and the reports say things the same way."""

from __future__ import annotations

from advisor.plan.types import SpeedRange, Verdict

#: Short badge text and a sentence per verdict.
VERDICT_WORDS: dict[Verdict, tuple[str, str]] = {
    Verdict.GPU: ("Fits on GPU", "Everything fits in one GPU's memory: the fastest way to run it."),
    Verdict.MULTI_GPU: ("Split across GPUs", "The layers are split across your GPUs (-ts)."),
    Verdict.EXPERTS_ON_CPU: (
        "Experts in RAM",
        "Attention, shared weights and the KV cache sit on the GPU; the experts of some layers stay in RAM.",
    ),
    Verdict.PARTIAL_OFFLOAD: ("Partly on GPU", "As many layers as fit run on the GPU; the rest run on the CPU."),
    Verdict.UNIFIED: ("Unified memory", "CPU and GPU share one memory pool, and the model fits in the GPU's share."),
    Verdict.CPU: ("CPU only", "Runs on the CPU from RAM."),
    Verdict.DISK_STREAM: (
        "Streams from disk",
        "The weights are larger than RAM: they are read from disk again and again, which is very slow.",
    ),
    Verdict.RPC_CLUSTER: ("Needs several machines", "Only the machines together (llama.cpp RPC) can hold it."),
    Verdict.IMPOSSIBLE: ("Won't run", "It cannot run here."),
}


def verdict_label(verdict: Verdict) -> str:
    return VERDICT_WORDS[verdict][0]


def verdict_sentence(verdict: Verdict) -> str:
    return VERDICT_WORDS[verdict][1]


def file_size(n: int | None) -> str:
    """Download sizes in decimal GB, as the Hub and disk vendors print them."""
    if n is None:
        return "?"
    for unit, div in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def mem_size(n: int | None) -> str:
    """Memory in binary units (GiB), as llama.cpp and the OS report it."""
    if n is None:
        return "?"
    for unit, div in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def params(n: int | None) -> str:
    if not n:
        return "?"
    if n >= 10**9:
        return f"{n / 1e9:.1f} B"
    return f"{n / 1e6:.0f} M"


def speed_range(r: SpeedRange | None, unit: str = "tok/s") -> str:
    """'8-14 tok/s (mid 11)'; ranges are honest, so never a lone number."""
    if r is None:
        return "—"

    def fmt(x: float) -> str:
        return f"{x:.0f}" if x >= 10 else f"{x:.1f}"

    return f"{fmt(r.low)}–{fmt(r.high)} {unit}"


def context_tokens(n: int | None) -> str:
    """Context lengths in whole K tokens (1K = 1,024), rounded down: '34K' for 34,816 and for 35,800 alike.

    Always the same shape, so a column of them compares at a glance; never rounded up, because a context shown
    as fitting must fit. Below 1K the exact count. The exact figure is ``context_tokens_exact``.
    """
    if not n:
        return "—"
    if n < 1024:
        return str(n)
    return f"{n // 1024}K"


def context_tokens_exact(n: int | None) -> str:
    """'34,816 tokens': for tooltips and wherever the precise length matters."""
    return f"{n:,} tokens" if n else "—"
