"""A local llama.cpp and the CUDA compiler on PATH, because some risks depend on how llama.cpp was built.

Both are found by running their ``--version`` with a short timeout; the parsers take the printed text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from advisor.hardware.specs import nvcc_versions
from advisor.hardware.types import LlamaCpp, Nvcc

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
