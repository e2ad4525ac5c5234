"""Knowing the machine: ``probe() -> Hardware`` and the hardware file format."""

from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, LlamaCpp, Memory, Nvcc, load_hardware_file

__all__ = ["Cpu", "Disk", "Gpu", "Hardware", "LlamaCpp", "Memory", "Nvcc", "load_hardware_file"]
