"""The CPU: name, cores, sockets and the SIMD features llama.cpp's CPU kernels choose between.

Parsers take text (``/proc/cpuinfo``, ``sysctl -a`` output) so that other machines' CPUs can be tested here;
the ``read_*`` functions do the I/O and never raise: a missing source becomes ``None`` plus a note.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from advisor.hardware.types import Cpu

#: x86 /proc/cpuinfo flags we report, mapped to our names (llama.cpp picks kernels by these).
_X86_FLAGS = {
    "pni": "sse3",
    "ssse3": "ssse3",
    "avx": "avx",
    "avx2": "avx2",
    "fma": "fma",
    "f16c": "f16c",
    "avx_vnni": "avx_vnni",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512vl": "avx512vl",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "amx_tile": "amx_tile",
    "amx_bf16": "amx_bf16",
    "amx_int8": "amx_int8",
}

#: aarch64 /proc/cpuinfo "Features" words we report.
_ARM_FLAGS = {
    "asimd": "asimd",
    "neon": "neon",
    "asimddp": "dotprod",
    "i8mm": "i8mm",
    "sve": "sve",
    "sve2": "sve2",
    "fphp": "fp16",
    "asimdhp": "fp16",
    "bf16": "bf16",
    "sme": "sme",
}

#: macOS sysctl keys (Intel Macs list features in machdep.cpu.*features, Apple Silicon in hw.optional.*).
_MAC_X86_WORDS = {
    "SSE3": "sse3",
    "SSSE3": "ssse3",
    "AVX1.0": "avx",
    "AVX2": "avx2",
    "FMA": "fma",
    "F16C": "f16c",
    "AVX512F": "avx512f",
    "AVX512BW": "avx512bw",
    "AVX512VL": "avx512vl",
    "AVX512VNNI": "avx512_vnni",
    "AVX512BF16": "avx512_bf16",
}
_MAC_OPTIONAL = {
    "hw.optional.neon": "neon",
    "hw.optional.AdvSIMD": "asimd",
    "hw.optional.arm.FEAT_DotProd": "dotprod",
    "hw.optional.arm.FEAT_I8MM": "i8mm",
    "hw.optional.arm.FEAT_FP16": "fp16",
    "hw.optional.arm.FEAT_BF16": "bf16",
    "hw.optional.arm.FEAT_SME": "sme",
    "hw.optional.arm.FEAT_SVE": "sve",
    "hw.optional.avx2_0": "avx2",
    "hw.optional.avx512f": "avx512f",
}

#: Windows IsProcessorFeaturePresent constants (winnt.h, documented on learn.microsoft.com
#: "IsProcessorFeaturePresent function"): only these SIMD features are queryable there.
_WINDOWS_FEATURES = {
    19: "neon",  # PF_ARM_NEON_INSTRUCTIONS_AVAILABLE
    39: "avx",  # PF_AVX_INSTRUCTIONS_AVAILABLE
    40: "avx2",  # PF_AVX2_INSTRUCTIONS_AVAILABLE
    41: "avx512f",  # PF_AVX512F_INSTRUCTIONS_AVAILABLE
    43: "dotprod",  # PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE
    46: "sve",  # PF_ARM_SVE_INSTRUCTIONS_AVAILABLE
    47: "sve2",  # PF_ARM_SVE2_INSTRUCTIONS_AVAILABLE
}

#: Order in which features are listed, so output is stable and readable.
_ORDER = (
    *("sse3", "ssse3", "avx", "avx2", "fma", "f16c", "avx_vnni"),
    *("avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx", "amx_tile", "amx_bf16", "amx_int8"),
    *("neon", "asimd", "dotprod", "i8mm", "fp16", "bf16", "sve", "sve2", "sme"),
)


@dataclass(frozen=True)
class CpuReading:
    """A CPU plus the notes about what could not be read."""

    cpu: Cpu
    notes: tuple[str, ...] = ()


def _sorted_features(found: set[str]) -> tuple[str, ...]:
    if found & {"amx_tile", "amx_bf16", "amx_int8"}:
        found = found | {"amx"}
    if "asimd" in found:
        found = found | {"neon"}  # on aarch64 Advanced SIMD is NEON
    known = [f for f in _ORDER if f in found]
    return tuple(known + sorted(found - set(_ORDER)))


def parse_proc_cpuinfo(text: str) -> Cpu:
    """A ``Cpu`` from Linux ``/proc/cpuinfo`` text (x86 or aarch64); logical cores = processor entries."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    entries: list[dict[str, str]] = []
    for block in blocks:
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.strip()
        if fields:
            entries.append(fields)
    processors = [e for e in entries if "processor" in e]
    first = processors[0] if processors else (entries[0] if entries else {})
    name = first.get("model name") or first.get("hardware") or first.get("cpu model")
    if not name:  # aarch64 kernels often print no model name, only a trailing Hardware/Model line
        for e in entries:
            name = e.get("model") or e.get("hardware")
            if name:
                break
    vendor = first.get("vendor_id")
    flags_text = first.get("flags") or first.get("features") or ""
    words = set(flags_text.split())
    mapping = _X86_FLAGS if "flags" in first else _ARM_FLAGS
    features = {ours for word, ours in mapping.items() if word in words}
    arch = "x86_64" if "flags" in first else ("arm64" if "features" in first else None)
    cores = {(e.get("physical id", "0"), e.get("core id")) for e in processors if e.get("core id") is not None}
    sockets = {e["physical id"] for e in processors if "physical id" in e}
    physical: int | None = len(cores) if cores else None
    if physical is None and first.get("cpu cores", "").isdigit():
        physical = int(first["cpu cores"]) * max(1, len(sockets))
    return Cpu(
        name=name,
        vendor=vendor,
        arch=arch,
        physical_cores=physical,
        logical_cores=len(processors) or None,
        sockets=len(sockets) or None,
        features=_sorted_features(features),
    )


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl`` output (``key: value`` or ``key = value`` lines) as a dict."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([\w.\-]+)\s*[:=]\s*(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip()
    return values


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def cpu_from_sysctl(values: Mapping[str, str]) -> Cpu:
    """A ``Cpu`` from macOS ``sysctl`` values (``machdep.cpu.*``, ``hw.*``, ``hw.optional.*``)."""
    features: set[str] = set()
    for key in ("machdep.cpu.features", "machdep.cpu.leaf7_features", "machdep.cpu.extfeatures"):
        for word in values.get(key, "").split():
            if word.upper() in _MAC_X86_WORDS:
                features.add(_MAC_X86_WORDS[word.upper()])
    for key, ours in _MAC_OPTIONAL.items():
        if values.get(key, "0").strip() == "1":
            features.add(ours)
    name = values.get("machdep.cpu.brand_string")
    is_arm = values.get("hw.optional.arm64") == "1" or (name or "").startswith("Apple")
    return Cpu(
        name=name,
        vendor="Apple" if is_arm else values.get("machdep.cpu.vendor"),
        arch="arm64" if is_arm else "x86_64",
        physical_cores=_int(values.get("hw.physicalcpu")),
        logical_cores=_int(values.get("hw.logicalcpu")),
        sockets=_int(values.get("hw.packages")),
        features=_sorted_features(features),
    )


def cpu_from_windows(
    name: str | None,
    feature_present: Callable[[int], bool],
    physical: int | None,
    logical: int | None,
    arch: str | None,
) -> Cpu:
    """A ``Cpu`` from Windows facts; ``feature_present`` is ``IsProcessorFeaturePresent`` (injectable for tests)."""
    features = {ours for code, ours in _WINDOWS_FEATURES.items() if feature_present(code)}
    return Cpu(
        name=name.strip() if name else None,
        arch=arch,
        physical_cores=physical,
        logical_cores=logical,
        features=_sorted_features(features),
    )


def run_sysctl(*keys: str, timeout: float = 3.0) -> str | None:
    """``sysctl`` output for keys (all when none), or None when there is no sysctl."""
    try:
        result = subprocess.run(
            ["sysctl", *keys] if keys else ["sysctl", "-a"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def _psutil_cores() -> tuple[int | None, int | None]:
    try:
        import psutil

        return psutil.cpu_count(logical=False), psutil.cpu_count(logical=True)
    except Exception:
        return None, os.cpu_count()


def _normal_arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _read_linux(cpuinfo_path: str) -> CpuReading:
    notes: list[str] = []
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as fh:
            cpu = parse_proc_cpuinfo(fh.read())
    except OSError as exc:
        notes.append(f"Could not read {cpuinfo_path} ({exc.strerror}); CPU features are unknown.")
        cpu = Cpu()
    physical, logical = _psutil_cores()
    if cpu.physical_cores is None and physical:
        cpu = _replace(cpu, physical_cores=physical)
    if cpu.logical_cores is None and logical:
        cpu = _replace(cpu, logical_cores=logical)
    if cpu.arch is None:
        cpu = _replace(cpu, arch=_normal_arch())
    if not cpu.name:
        notes.append("The CPU model name is not shown in /proc/cpuinfo on this machine.")
    return CpuReading(cpu, tuple(notes))


def _read_macos() -> CpuReading:
    text = run_sysctl()
    if not text:
        physical, logical = _psutil_cores()
        return CpuReading(
            Cpu(physical_cores=physical, logical_cores=logical, arch=_normal_arch()),
            ("sysctl did not answer; the CPU name and features are unknown.",),
        )
    return CpuReading(cpu_from_sysctl(parse_sysctl(text)))


def _read_windows() -> CpuReading:
    notes: list[str] = []
    name: str | None = None
    try:
        import winreg  # type: ignore[import-not-found]

        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0") as key:
            name = str(winreg.QueryValueEx(key, "ProcessorNameString")[0])
    except Exception:
        name = platform.processor() or None
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]

        def present(code: int) -> bool:
            return bool(kernel32.IsProcessorFeaturePresent(code))

    except Exception:
        notes.append("IsProcessorFeaturePresent is not available; CPU features are unknown.")

        def present(code: int) -> bool:
            return False

    physical, logical = _psutil_cores()
    cpu = cpu_from_windows(name, present, physical, logical, _normal_arch())
    notes.append("Windows does not report AVX-512 VNNI/BF16 or AMX; only AVX/AVX2/AVX-512F and ARM features are shown.")
    return CpuReading(cpu, tuple(notes))


def _replace(cpu: Cpu, **changes: object) -> Cpu:
    from dataclasses import replace

    return replace(cpu, **changes)


def read_cpu(*, system: str | None = None, cpuinfo_path: str = "/proc/cpuinfo") -> CpuReading:
    """The CPU of this machine; never raises."""
    system = system or platform.system()
    try:
        if system == "Linux":
            return _read_linux(cpuinfo_path)
        if system == "Darwin":
            return _read_macos()
        if system == "Windows":
            return _read_windows()
    except Exception as exc:  # a parser surprise must not stop the probe
        physical, logical = _psutil_cores()
        return CpuReading(
            Cpu(physical_cores=physical, logical_cores=logical, arch=_normal_arch()),
            (f"Could not read the CPU details ({exc}).",),
        )
    physical, logical = _psutil_cores()
    return CpuReading(
        Cpu(name=platform.processor() or None, physical_cores=physical, logical_cores=logical, arch=_normal_arch()),
        (f"CPU features are not detected on {system}.",),
    )
