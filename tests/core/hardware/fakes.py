"""Fakes for what this machine cannot have: NVML answers, other machines' sysfs, sysctl and cpuinfo text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest

GIB = 2**30


@dataclass(frozen=True)
class FakeNvmlDevice:
    name: str
    uuid: str
    total: int
    free: int
    cc: tuple[int, int]
    arch: int
    bus_bits: int
    mem_clock_mhz: int
    pcie_gen: int = 4
    pcie_width: int = 16


def rtx_4090(uuid: str = "GPU-4090-0000") -> FakeNvmlDevice:
    return FakeNvmlDevice(
        "NVIDIA GeForce RTX 4090", uuid, 24 * GIB, 23 * GIB, (8, 9), pynvml.NVML_DEVICE_ARCH_ADA, 384, 10501
    )


def rtx_3090(uuid: str) -> FakeNvmlDevice:
    return FakeNvmlDevice(
        "NVIDIA GeForce RTX 3090", uuid, 24 * GIB, 22 * GIB, (8, 6), pynvml.NVML_DEVICE_ARCH_AMPERE, 384, 9751
    )


def gtx_1080() -> FakeNvmlDevice:
    return FakeNvmlDevice(
        "NVIDIA GeForce GTX 1080", "GPU-1080", 8 * GIB, 7 * GIB, (6, 1), pynvml.NVML_DEVICE_ARCH_PASCAL, 256, 5005, 3
    )


def install_fake_nvml(
    monkeypatch: pytest.MonkeyPatch,
    devices: list[FakeNvmlDevice],
    *,
    driver: str = "580.65.06",
    cuda: int = 13000,
    failing: dict[str, BaseException] | None = None,
) -> list[str]:
    """Replace the pynvml functions the probe calls; ``failing`` maps a function name to what it raises.

    Returns a list that records every NVML function called, in order.
    """
    calls: list[str] = []
    failing = failing or {}
    handles = {id(d): d for d in devices}

    def fake(name: str, result):  # type: ignore[no-untyped-def]
        def fn(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(name)
            if name in failing:
                raise failing[name]
            return result(*args)

        monkeypatch.setattr(pynvml, name, fn)

    def dev(handle: int) -> FakeNvmlDevice:
        return handles[handle]

    fake("nvmlInit", lambda: None)
    fake("nvmlShutdown", lambda: None)
    fake("nvmlSystemGetDriverVersion", lambda: driver)
    fake("nvmlSystemGetCudaDriverVersion_v2", lambda: cuda)
    fake("nvmlSystemGetCudaDriverVersion", lambda: cuda)
    fake("nvmlDeviceGetCount", lambda: len(devices))
    fake("nvmlDeviceGetHandleByIndex", lambda i: id(devices[i]))
    fake("nvmlDeviceGetName", lambda h: dev(h).name)
    fake("nvmlDeviceGetUUID", lambda h: dev(h).uuid)
    fake(
        "nvmlDeviceGetMemoryInfo",
        lambda h, *a: SimpleNamespace(total=dev(h).total, free=dev(h).free, used=dev(h).total - dev(h).free),
    )
    fake("nvmlDeviceGetCudaComputeCapability", lambda h: dev(h).cc)
    fake("nvmlDeviceGetArchitecture", lambda h: dev(h).arch)
    fake("nvmlDeviceGetMemoryBusWidth", lambda h: dev(h).bus_bits)
    fake("nvmlDeviceGetMaxClockInfo", lambda h, clock: dev(h).mem_clock_mhz if clock == pynvml.NVML_CLOCK_MEM else 0)
    fake("nvmlDeviceGetMaxPcieLinkGeneration", lambda h: dev(h).pcie_gen)
    fake("nvmlDeviceGetMaxPcieLinkWidth", lambda h: dev(h).pcie_width)
    return calls


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create files (relative path -> content) under ``root``; returns root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def amdgpu_card(card: str, device_id: str, vram: int | None, gtt: int, used: int = 0, **extra: str) -> dict[str, str]:
    base = f"sys/class/drm/{card}/device/"
    files = {
        base + "vendor": "0x1002\n",
        base + "device": f"{device_id}\n",
        base + "mem_info_gtt_total": f"{gtt}\n",
        base + "mem_info_vram_used": f"{used}\n",
    }
    if vram is not None:
        files[base + "mem_info_vram_total"] = f"{vram}\n"
    files.update({base + k: v for k, v in extra.items()})
    return files


M3_MAX_SYSCTL = """\
hw.memsize: 137438953472
hw.physicalcpu: 16
hw.logicalcpu: 16
hw.packages: 1
hw.optional.arm64: 1
hw.optional.neon: 1
hw.optional.AdvSIMD: 1
hw.optional.arm.FEAT_DotProd: 1
hw.optional.arm.FEAT_I8MM: 1
hw.optional.arm.FEAT_FP16: 1
hw.optional.arm.FEAT_BF16: 1
hw.optional.arm.FEAT_SME: 0
machdep.cpu.brand_string: Apple M3 Max
iogpu.wired_limit_mb: 0
"""


def x86_cpuinfo(
    *,
    sockets: int,
    cores_per_socket: int,
    threads_per_core: int,
    model: str,
    flags: str,
) -> str:
    """A /proc/cpuinfo as Linux writes it on x86: one block per logical CPU."""
    blocks = []
    processor = 0
    for thread in range(threads_per_core):
        for socket in range(sockets):
            for core in range(cores_per_socket):
                blocks.append(
                    f"processor\t: {processor}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: {model}\n"
                    f"physical id\t: {socket}\nsiblings\t: {cores_per_socket * threads_per_core}\n"
                    f"core id\t\t: {core}\ncpu cores\t: {cores_per_socket}\nflags\t\t: {flags}\n"
                )
                processor += 1
        del thread
    return "\n".join(blocks) + "\n"


SAPPHIRE_RAPIDS_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall "
    "nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave "
    "avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch avx2 bmi2 erms avx512f avx512dq rdseed adx smap avx512ifma "
    "clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt avx_vnni avx512_bf16 avx512vbmi umip pku avx512_vbmi2 "
    "gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq amx_bf16 avx512_fp16 amx_tile amx_int8"
)

GRAVITON3_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop \
sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd40
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop \
sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd40
CPU revision\t: 1
"""
