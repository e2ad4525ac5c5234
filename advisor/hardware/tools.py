"""A local llama.cpp and the CUDA compiler on PATH, because some risks depend on how llama.cpp was built.

Both are found by running their ``--version`` with a short timeout; the parsers take the printed text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from advisor.hardware.specs import nvcc_versions
from advisor.hardware.types import Gpu, LlamaCpp, Nvcc

_TIMEOUT_S = 5.0
LLAMA_BINARIES = ("llama-server", "llama-cli")

#: Words in llama.cpp's start-up log that name the backend it loaded, most specific first.
_BACKEND_MARKERS = (
    # ROCm builds also print "ggml_cuda_init" (HIP reuses the CUDA backend), so ROCm is checked first.
    ("rocm", (r"\bROCm\d*\b", r"\bHIP\b", r"ggml-hip", r"loaded ROCm backend")),
    ("cuda", (r"ggml_cuda_init", r"loaded CUDA backend", r"\bCUDA\d*\b", r"ggml-cuda")),
    ("metal", (r"ggml_metal", r"\bMetal\b", r"\bMTL\d")),
    ("vulkan", (r"ggml_vulkan", r"\bVulkan\d*\b")),
    ("sycl", (r"\bSYCL\b",)),
)


@dataclass(frozen=True)
class ToolsReading:
    llama_cpp: LlamaCpp | None
    nvcc: Nvcc | None
    notes: tuple[str, ...] = ()


def parse_llama_version(text: str) -> LlamaCpp | None:
    """Build, backend and CUDA version from ``llama-server --version`` output.

    Understands "version: 8746 (abc123)" and the newer "version: 0.3.0-dev (build 10621, commit c1d0e7a00)".
    """
    build = None
    match = re.search(r"version:\s*(\d+)\s*\(", text)
    if match:
        build = f"b{match.group(1)}"
    else:
        match = re.search(r"\(build\s+(\d+)", text)
        if match:
            build = f"b{match.group(1)}"
    if build is None and "version" not in text.lower():
        return None
    backend = None
    for name, patterns in _BACKEND_MARKERS:
        if any(re.search(p, text, flags=re.IGNORECASE if name != "cuda" else 0) for p in patterns):
            backend = name
            break
    cuda = None
    found = re.search(r"CUDA(?: runtime| toolkit)?(?: version)?[\s:=]*v?(\d+\.\d+(?:\.\d+)?)", text, re.IGNORECASE)
    found = found or re.search(r"cuda[-_](\d+\.\d+(?:\.\d+)?)", text, re.IGNORECASE)
    if found:
        cuda = found.group(1)
        backend = backend or "cuda"
    return LlamaCpp(build=build, backend=backend or ("cpu" if build else None), cuda_version=cuda)


def parse_nvcc_version(text: str) -> Nvcc | None:
    """Toolkit release from ``nvcc --version``: V13.2.78 -> "13.2.1" via resources/specs/nvcc.toml.

    An nvcc build not in the table is reported as its "release X.Y" (patch unknown).
    """
    release = re.search(r"release\s+(\d+\.\d+)", text)
    compiler = re.search(r"\bV(\d+\.\d+\.\d+)", text)
    if not release and not compiler:
        return None
    compiler_version = compiler.group(1) if compiler else None
    version = nvcc_versions().get(compiler_version or "")
    if version is None:
        version = release.group(1) if release else ".".join((compiler_version or "").split(".")[:2]) or None
    return Nvcc(version=version, compiler_version=compiler_version)


def _run(command: Sequence[str]) -> str | None:
    try:
        result = subprocess.run(
            list(command), capture_output=True, text=True, timeout=_TIMEOUT_S, check=False, errors="replace"
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (result.stdout or "") + "\n" + (result.stderr or "")


def read_tools() -> ToolsReading:
    """llama.cpp and nvcc on PATH; absent tools are simply None. Never raises."""
    notes: list[str] = []
    llama = None
    for binary in LLAMA_BINARIES:
        path = shutil.which(binary)
        if not path:
            continue
        output = _run([path, "--version"])
        if output is None:
            notes.append(f"{binary} is on PATH ({path}) but did not answer --version within {_TIMEOUT_S:g} s.")
            continue
        parsed = parse_llama_version(output)
        if parsed is None:
            notes.append(f"{binary} at {path} printed no version Rigfit understands.")
            llama = LlamaCpp(path=path)
        else:
            from dataclasses import replace

            llama = replace(parsed, path=path)
        break
    nvcc = None
    nvcc_path = shutil.which("nvcc")
    if nvcc_path:
        output = _run([nvcc_path, "--version"])
        parsed_nvcc = parse_nvcc_version(output or "")
        if parsed_nvcc is None:
            notes.append(f"nvcc at {nvcc_path} printed no version Rigfit understands.")
        else:
            from dataclasses import replace

            nvcc = replace(parsed_nvcc, path=nvcc_path)
    return ToolsReading(llama, nvcc, tuple(notes))


@dataclass(frozen=True)
class ListedDevice:
    """One device line of ``llama-server --list-devices``, e.g. ``Vulkan0: AMD Radeon RX 7900 XTX (24560 MiB, ...)``."""

    device: str  # "Vulkan0", "CUDA1", "MTL0"
    name: str
    total_bytes: int
    free_bytes: int | None


_LIST_LINE = re.compile(r"^\s*([A-Za-z]+\d+):\s*(.+?)\s*\((\d+)\s*MiB(?:,\s*(\d+)\s*MiB free)?\)\s*$")


def parse_list_devices(text: str) -> list[ListedDevice]:
    """Devices llama.cpp can use, from its ``--list-devices`` output (a vendor-neutral fallback)."""
    devices = []
    for line in text.splitlines():
        match = _LIST_LINE.match(line)
        if match:
            free = match.group(4)
            devices.append(
                ListedDevice(
                    device=match.group(1),
                    name=match.group(2),
                    total_bytes=int(match.group(3)) * 2**20,
                    free_bytes=int(free) * 2**20 if free else None,
                )
            )
    return devices


def vendor_of(name: str) -> str | None:
    lower = name.lower()
    for vendor, words in (
        ("nvidia", ("nvidia", "geforce", "quadro", "tesla", "rtx")),
        ("amd", ("amd", "radeon", "instinct")),
        ("intel", ("intel", "arc")),
        ("apple", ("apple",)),
    ):
        if any(word in lower for word in words):
            return vendor
    return None


def gpus_from_llama(path: str, first_index: int = 0) -> tuple[list[Gpu], list[str]]:
    """GPUs as a local llama.cpp sees them; used when the native probes found none (e.g. AMD on Windows)."""
    from advisor.hardware.specs import gpu_spec

    output = _run([path, "--list-devices"])
    if not output:
        return [], []
    gpus: list[Gpu] = []
    for listed in parse_list_devices(output):
        vendor = vendor_of(listed.name)
        if vendor is None:
            continue
        spec = gpu_spec(listed.name, vram_bytes=listed.total_bytes) if vendor != "apple" else None
        gpus.append(
            Gpu(
                vendor=vendor,
                name=listed.name,
                index=first_index + len(gpus),
                vram_total_bytes=listed.total_bytes,
                vram_free_bytes=listed.free_bytes,
                bandwidth_gbps=spec.bandwidth_gbps if spec else None,
                bandwidth_source="spec" if spec and spec.bandwidth_gbps else None,
                compute_capability=spec.compute_capability if spec else None,
                architecture=(spec.gfx_target or spec.architecture) if spec else None,
                unified_memory=bool(spec and spec.unified),
                fp16_tflops=spec.fp16_tflops if spec else None,
            )
        )
    notes = [f"GPUs read from `{Path(path).name} --list-devices` ({len(gpus)} found)."] if gpus else []
    return gpus, notes
