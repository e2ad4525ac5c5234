"""CPUs from fake /proc/cpuinfo, sysctl and Windows answers; Apple Silicon GPUs from fake sysctl."""

from __future__ import annotations

import pytest

from advisor.hardware.apple import apple_gpu_from_sysctl, default_working_set_bytes
from advisor.hardware.cpu import cpu_from_sysctl, cpu_from_windows, parse_proc_cpuinfo, parse_sysctl
from tests.core.hardware.fakes import GIB, GRAVITON3_CPUINFO, M3_MAX_SYSCTL, SAPPHIRE_RAPIDS_FLAGS, x86_cpuinfo


def test_two_socket_sapphire_rapids_counts_cores_and_finds_amx() -> None:
    text = x86_cpuinfo(
        sockets=2,
        cores_per_socket=4,
        threads_per_core=2,
        model="Intel(R) Xeon(R) Platinum 8480+",
        flags=SAPPHIRE_RAPIDS_FLAGS,
    )
    cpu = parse_proc_cpuinfo(text)
    assert cpu.name == "Intel(R) Xeon(R) Platinum 8480+" and cpu.vendor == "GenuineIntel"
    assert (cpu.sockets, cpu.physical_cores, cpu.logical_cores) == (2, 8, 16)
    assert cpu.arch == "x86_64"
    for feature in ("avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "amx", "amx_tile", "amx_bf16"):
        assert feature in cpu.features
    assert "neon" not in cpu.features and "sve" not in cpu.features


def test_avx2_only_desktop_has_no_avx512() -> None:
    cpu = parse_proc_cpuinfo(
        x86_cpuinfo(sockets=1, cores_per_socket=6, threads_per_core=1, model="Old", flags="fpu sse pni avx avx2 fma")
    )
    assert cpu.features == ("sse3", "avx", "avx2", "fma")
    assert (cpu.physical_cores, cpu.logical_cores, cpu.sockets) == (6, 6, 1)


def test_aarch64_cpuinfo_finds_neon_sve_and_dotprod() -> None:
    cpu = parse_proc_cpuinfo(GRAVITON3_CPUINFO)
    assert cpu.arch == "arm64" and cpu.logical_cores == 2
    for feature in ("neon", "asimd", "sve", "dotprod", "i8mm", "bf16", "fp16"):
        assert feature in cpu.features
    assert "avx2" not in cpu.features
    assert cpu.name is None  # this kernel prints no model name; the probe says so in a note


def test_m3_max_sysctl_cpu() -> None:
    cpu = cpu_from_sysctl(parse_sysctl(M3_MAX_SYSCTL))
    assert cpu.name == "Apple M3 Max" and cpu.arch == "arm64" and cpu.vendor == "Apple"
    assert (cpu.physical_cores, cpu.logical_cores, cpu.sockets) == (16, 16, 1)
    assert {"neon", "asimd", "dotprod", "i8mm", "bf16", "fp16"} <= set(cpu.features)
    assert "sme" not in cpu.features  # FEAT_SME: 0


def test_intel_mac_sysctl_cpu() -> None:
    text = (
        "machdep.cpu.brand_string: Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz\n"
        "machdep.cpu.vendor: GenuineIntel\n"
        "machdep.cpu.features: FPU VME SSE3 SSSE3 FMA CX16 AVX1.0 RDRAND F16C\n"
        "machdep.cpu.leaf7_features: RDWRFSGS TSC_THREAD_OFFSET SGX BMI1 AVX2 SMEP BMI2\n"
        "hw.physicalcpu: 8\nhw.logicalcpu: 16\nhw.packages: 1\n"
    )
    cpu = cpu_from_sysctl(parse_sysctl(text))
    assert cpu.arch == "x86_64" and cpu.vendor == "GenuineIntel"
    assert cpu.features == ("sse3", "ssse3", "avx", "avx2", "fma", "f16c")
    assert (cpu.physical_cores, cpu.logical_cores) == (8, 16)


def test_windows_feature_queries() -> None:
    asked: list[int] = []

    def present(code: int) -> bool:
        asked.append(code)
        return code in (39, 40, 41)

    cpu = cpu_from_windows("  AMD Ryzen 9 7950X 16-Core Processor  ", present, 16, 32, "x86_64")
    assert cpu.name == "AMD Ryzen 9 7950X 16-Core Processor"
    assert cpu.features == ("avx", "avx2", "avx512f")
    assert 40 in asked and 46 in asked


def test_m3_max_gpu_is_unified_with_default_working_set() -> None:
    gpu, notes = apple_gpu_from_sysctl(parse_sysctl(M3_MAX_SYSCTL))
    assert gpu is not None
    assert gpu.vendor == "apple" and gpu.name == "Apple M3 Max" and gpu.unified_memory
    assert gpu.vram_total_bytes == 128 * GIB
    assert gpu.bandwidth_gbps == 400 and gpu.bandwidth_source == "spec"  # 16-core CPU = the 400 GB/s tier
    assert gpu.working_set_limit_bytes == int(128 * GIB * 0.84)  # measured default on 128 GiB Macs
    assert gpu.architecture == "apple-m3"
    assert any("iogpu.wired_limit_mb" in n for n in notes)


def test_wired_limit_override_is_used() -> None:
    text = M3_MAX_SYSCTL.replace("iogpu.wired_limit_mb: 0", "iogpu.wired_limit_mb: 120000")
    gpu, _ = apple_gpu_from_sysctl(parse_sysctl(text))
    assert gpu is not None and gpu.working_set_limit_bytes == 120000 * 2**20


def test_m3_max_14_core_tier_has_300_gbps() -> None:
    text = M3_MAX_SYSCTL.replace("hw.physicalcpu: 16", "hw.physicalcpu: 14")
    gpu, _ = apple_gpu_from_sysctl(parse_sysctl(text))
    assert gpu is not None and gpu.bandwidth_gbps == 300


def test_intel_mac_has_no_apple_gpu() -> None:
    gpu, notes = apple_gpu_from_sysctl({"machdep.cpu.brand_string": "Intel(R) Core(TM) i9", "hw.memsize": "1"})
    assert gpu is None and notes == ()


@pytest.mark.parametrize(("ram_gib", "fraction"), [(16, 0.6667), (32, 0.6667), (36, 0.6667), (64, 0.75), (192, 0.84)])
def test_default_working_set_rule(ram_gib: int, fraction: float) -> None:
    assert default_working_set_bytes(ram_gib * GIB) == int(ram_gib * GIB * fraction)


def test_unknown_tier_core_count_assumes_the_top_tier_and_says_so() -> None:
    text = M3_MAX_SYSCTL.replace("hw.physicalcpu: 16", "hw.physicalcpu: 12")
    gpu, notes = apple_gpu_from_sysctl(parse_sysctl(text))
    assert gpu is not None and gpu.bandwidth_gbps == 400
    assert any("assumed 400 GB/s" in n for n in notes)
