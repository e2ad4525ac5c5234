"""llama.cpp and nvcc: parsing their --version text, and finding real executables on PATH."""

from __future__ import annotations

import os
import platform
import shutil
import stat
from pathlib import Path

import pytest

from advisor.hardware import tools
from advisor.hardware.tools import parse_list_devices, parse_llama_version, parse_nvcc_version, read_tools

CUDA_BUILD = """\
ggml_cuda_init: GGML_CUDA_FORCE_MMQ:    no
ggml_cuda_init: GGML_CUDA_FORCE_CUBLAS: no
ggml_cuda_init: found 1 CUDA devices:
  Device 0: NVIDIA GeForce RTX 4090, compute capability 8.9, VMM: yes
load_backend: loaded CUDA backend from /opt/llama-b8746-bin-cuda-13.2/libggml-cuda.so
version: 8746 (abc123)
built with cc (GCC) 13.2.0 for x86_64-linux-gnu
"""

NEW_STYLE = "version: 0.3.0-dev (build 10621, commit c1d0e7a00)\nbuilt with MSVC 19.29 for x64\n"

ROCM_BUILD = """\
ggml_cuda_init: found 1 ROCm devices:
  Device 0: AMD Radeon RX 7900 XTX, gfx1100 (0x1100), VMM: no, Wave Size: 32
version: 7000 (deadbee)
"""

VULKAN_BUILD = """\
ggml_vulkan: Found 1 Vulkan devices:
ggml_vulkan: 0 = AMD Radeon 8060S (RADV GFX1151)
version: 6945 (cc98f8d34)
"""


def test_cuda_build_with_toolkit_in_path() -> None:
    ll = parse_llama_version(CUDA_BUILD)
    assert ll is not None
    assert (ll.build, ll.backend, ll.cuda_version) == ("b8746", "cuda", "13.2")


def test_new_style_version_line_without_backend_is_cpu() -> None:
    ll = parse_llama_version(NEW_STYLE)
    assert ll is not None and (ll.build, ll.backend, ll.cuda_version) == ("b10621", "cpu", None)


def test_rocm_build_is_not_mistaken_for_cuda() -> None:
    ll = parse_llama_version(ROCM_BUILD)
    assert ll is not None and (ll.build, ll.backend) == ("b7000", "rocm")


def test_vulkan_build() -> None:
    ll = parse_llama_version(VULKAN_BUILD)
    assert ll is not None and (ll.build, ll.backend) == ("b6945", "vulkan")


def test_unrelated_output_is_not_a_version() -> None:
    assert parse_llama_version("usage: something else\n") is None


@pytest.mark.parametrize(
    ("v_number", "release", "toolkit"),
    [
        ("13.2.51", "13.2", "13.2.0"),
        ("13.2.78", "13.2", "13.2.1"),
        ("13.2.86", "13.2", "13.2.2"),
        ("12.4.131", "12.4", "12.4"),
    ],
)
def test_nvcc_version_maps_compiler_build_to_toolkit(v_number: str, release: str, toolkit: str) -> None:
    text = (
        "nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2026 NVIDIA Corporation\n"
        f"Cuda compilation tools, release {release}, V{v_number}\nBuild cuda_{release}.r{release}/compiler.0_0\n"
    )
    nvcc = parse_nvcc_version(text)
    assert nvcc is not None and nvcc.version == toolkit and nvcc.compiler_version == v_number


def test_nvcc_garbage_is_none() -> None:
    assert parse_nvcc_version("command not found") is None


def _script(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.skipif(os.name == "nt", reason="shell scripts stand in for the executables")
def test_real_executables_on_path_are_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(tmp_path, "llama-server", "cat >&2 <<'EOF'\n" + CUDA_BUILD + "EOF\n")
    _script(tmp_path, "nvcc", "echo 'Cuda compilation tools, release 13.2, V13.2.78'\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    reading = read_tools()
    assert reading.llama_cpp is not None and reading.llama_cpp.build == "b8746"
    assert reading.llama_cpp.path == str(tmp_path / "llama-server")
    assert reading.nvcc is not None and reading.nvcc.version == "13.2.1"
    assert reading.nvcc.path == str(tmp_path / "nvcc")


@pytest.mark.skipif(os.name == "nt", reason="shell scripts stand in for the executables")
def test_hanging_llama_binary_times_out_into_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(tmp_path, "llama-server", f"exec {shutil.which('sleep')} 30\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(tools, "_TIMEOUT_S", 0.3)
    reading = read_tools()
    assert reading.llama_cpp is None and reading.nvcc is None
    assert any("did not answer" in n for n in reading.notes)


@pytest.mark.skipif(os.name == "nt", reason="shell scripts stand in for the executables")
def test_llama_binary_with_unknown_output_is_still_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(tmp_path, "llama-cli", "echo hello\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    reading = read_tools()
    assert reading.llama_cpp is not None and reading.llama_cpp.build is None
    assert reading.llama_cpp.path == str(tmp_path / "llama-cli")
    assert any("no version" in n for n in reading.notes)


LIST_DEVICES = """\
ggml_vulkan: Found 2 Vulkan devices:
Available devices:
  Vulkan0: AMD Radeon RX 7900 XTX (24560 MiB, 23012 MiB free)
  Vulkan1: AMD Radeon(TM) Graphics (512 MiB, 400 MiB free)
  MTL0: Apple M1 Max (26000 MiB, 25999 MiB free)
"""


def test_list_devices_lines_are_parsed() -> None:
    devices = parse_list_devices(LIST_DEVICES)
    assert [d.device for d in devices] == ["Vulkan0", "Vulkan1", "MTL0"]
    assert devices[0].name == "AMD Radeon RX 7900 XTX"
    assert devices[0].total_bytes == 24560 * 2**20 and devices[0].free_bytes == 23012 * 2**20
    assert devices[2].total_bytes == 26000 * 2**20


@pytest.mark.skipif(os.name == "nt", reason="shell scripts stand in for the executables")
def test_probe_falls_back_to_llama_device_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml

    from advisor.hardware.probe import probe
    from tests.core.hardware.fakes import install_fake_nvml

    install_fake_nvml(monkeypatch, [], failing={"nvmlInit": pynvml.NVMLError_LibraryNotFound()})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = (
        'if [ "$1" = "--list-devices" ]; then\ncat <<\'EOF\'\n' + LIST_DEVICES + "EOF\nelse\n"
        "echo 'version: 8746 (abc123)' >&2\nfi\n"
    )
    _script(bin_dir, "llama-server", script)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    hw = probe(sysfs_root=str(tmp_path / "no-sysfs"), measure_bandwidth=False)
    if platform.system() == "Darwin":
        pytest.skip("the Apple probe finds the GPU itself on a Mac")
    names = [g.name for g in hw.gpus]
    assert names == ["AMD Radeon RX 7900 XTX", "AMD Radeon(TM) Graphics", "Apple M1 Max"]
    assert hw.gpus[0].bandwidth_gbps == 960 and hw.gpus[0].vram_total_bytes == 24560 * 2**20
    assert any("--list-devices" in n for n in hw.notes)
    assert not any("No GPU found" in n for n in hw.notes)
