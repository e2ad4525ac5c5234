"""Apple Silicon from ``sysctl``: the chip, its unified memory, and how much of it Metal lets the GPU wire.

Metal caps GPU allocations at ``recommendedMaxWorkingSetSize``; ``iogpu.wired_limit_mb`` overrides it (0 means
the macOS default). Without the override we estimate the default from RAM size with the rule in
``resources/specs/memory.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping

from advisor.hardware.specs import apple_chip_name, apple_spec, memory_facts
from advisor.hardware.types import Gpu

_GIB = 2**30


def default_working_set_bytes(ram_bytes: int) -> int:
    """macOS's default GPU wired limit for a RAM size (2/3 small, 3/4 large, 0.84 huge; see memory.toml)."""
    rule = memory_facts()["apple_working_set"]
    gib = ram_bytes / _GIB
    if gib <= rule["small_ram_max_gib"]:
        fraction = rule["small_fraction"]
    elif gib < rule["huge_ram_min_gib"]:
        fraction = rule["large_fraction"]
    else:
        fraction = rule["huge_fraction"]
    return int(ram_bytes * fraction)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def apple_gpu_from_sysctl(values: Mapping[str, str]) -> tuple[Gpu | None, tuple[str, ...]]:
    """The Apple GPU described by sysctl values, or None on an Intel Mac; never raises."""
    brand = values.get("machdep.cpu.brand_string", "")
    chip = apple_chip_name(brand)
    if chip is None:
        return None, ()
    notes: list[str] = []
    ram = _int(values.get("hw.memsize"))
    wired_mb = _int(values.get("iogpu.wired_limit_mb"))
    if ram is None:
        notes.append("sysctl did not report hw.memsize; the unified memory size is unknown.")
        limit = wired_mb * 2**20 if wired_mb else None
    elif wired_mb:
        limit = min(wired_mb * 2**20, ram)
        notes.append(f"iogpu.wired_limit_mb is set to {wired_mb} MiB: the GPU may use up to {limit / _GIB:.1f} GiB.")
    else:
        limit = default_working_set_bytes(ram)
        notes.append(
            f"The GPU may wire about {limit / _GIB:.1f} GiB of the {ram / _GIB:.0f} GiB unified memory (macOS default;"
            " raise it with sudo sysctl iogpu.wired_limit_mb=<MiB>)."
        )
    spec = apple_spec(chip, cpu_cores=_int(values.get("hw.physicalcpu")))
    if spec is None:
        notes.append(f"{brand}: not in the Apple spec table; memory bandwidth unknown.")
    elif spec.cpu_cores is not None and _int(values.get("hw.physicalcpu")) != spec.cpu_cores:
        notes.append(
            f"{brand}: the CPU core count does not say which tier this is; assumed {spec.bandwidth_gbps:g} GB/s."
        )
    family = chip.split()[0].lower()
    gpu = Gpu(
        vendor="apple",
        name=brand.strip(),
        index=0,
        vram_total_bytes=ram,
        vram_free_bytes=None,
        bandwidth_gbps=spec.bandwidth_gbps if spec else None,
        bandwidth_source="spec" if spec else None,
        architecture=f"apple-{family}",
        unified_memory=True,
        working_set_limit_bytes=limit,
    )
    return gpu, tuple(notes)


def read_apple() -> tuple[Gpu | None, tuple[str, ...]]:
    """Ask sysctl on this Mac; never raises."""
    from advisor.hardware.cpu import parse_sysctl, run_sysctl

    text = run_sysctl("hw.memsize", "machdep.cpu.brand_string", "iogpu.wired_limit_mb", "hw.physicalcpu")
    if not text:
        return None, ("sysctl did not answer; the Apple GPU was not probed.",)
    try:
        return apple_gpu_from_sysctl(parse_sysctl(text))
    except Exception as exc:
        return None, (f"Could not read the Apple GPU details ({exc}).",)
