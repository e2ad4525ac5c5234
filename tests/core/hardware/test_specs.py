"""The spec tables: every row sourced and self-consistent, and driver names find the right row."""

from __future__ import annotations

import pytest

from advisor.hardware.specs import apple_spec, apple_specs, gpu_spec, gpu_spec_by_pci_id, gpu_specs, nvcc_versions


def test_every_gpu_row_has_a_source_and_figures() -> None:
    rows = gpu_specs()
    assert len(rows) >= 60
    for row in rows:
        assert row.source.startswith("https://"), row.name
        assert row.says, row.name
        assert row.patterns, row.name
        assert row.bandwidth_gbps and row.bandwidth_gbps > 0, row.name
        assert row.vendor in ("nvidia", "amd", "intel"), row.name


def test_bandwidth_agrees_with_bus_width_and_data_rate() -> None:
    for row in gpu_specs():
        if row.bus_bits and row.data_rate_gbps and not row.name.startswith("Instinct"):
            assert row.bandwidth_gbps == pytest.approx(row.bus_bits * row.data_rate_gbps / 8, rel=0.01), row.name


def test_nvidia_rows_have_compute_capability_and_amd_rows_a_gfx_target() -> None:
    for row in gpu_specs():
        if row.vendor == "nvidia":
            assert row.compute_capability, row.name
        if row.vendor == "amd":
            assert row.gfx_target and row.gfx_target.startswith("gfx"), row.name


@pytest.mark.parametrize(
    ("driver_name", "expected"),
    [
        ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
        ("NVIDIA GeForce RTX 4070 Ti SUPER", "GeForce RTX 4070 Ti SUPER"),
        ("NVIDIA GeForce RTX 4070 Ti", "GeForce RTX 4070 Ti"),
        ("NVIDIA GeForce RTX 5090", "GeForce RTX 5090"),
        ("NVIDIA GeForce RTX 2080 Ti", "GeForce RTX 2080 Ti"),
        ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB"),
        ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"),
        ("NVIDIA A100-PCIE-40GB", "A100 40GB"),
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA RTX A6000", "RTX A6000"),
        ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada Generation"),
        ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "RTX PRO 6000 Blackwell"),
        ("NVIDIA GB10", "DGX Spark GB10"),
        ("NVIDIA GeForce GTX 1080 Ti", "GeForce GTX 1080 Ti"),
        ("AMD Radeon RX 7900 XTX", "Radeon RX 7900 XTX"),
        ("AMD Radeon RX 9070 XT", "Radeon RX 9070 XT"),
        ("AMD Instinct MI300X", "Instinct MI300X"),
        ("Intel(R) Arc(TM) A770 Graphics", "Arc A770"),
    ],
)
def test_driver_names_match_their_row(driver_name: str, expected: str) -> None:
    spec = gpu_spec(driver_name)
    assert spec is not None and spec.name == expected


def test_laptop_variant_does_not_borrow_the_desktop_figures() -> None:
    assert gpu_spec("NVIDIA GeForce RTX 4090 Laptop GPU") is None


def test_unknown_name_is_none() -> None:
    assert gpu_spec("Matrox G200eR2") is None and gpu_spec("") is None


def test_same_name_variants_are_told_apart_by_memory() -> None:
    assert gpu_spec("NVIDIA GeForce RTX 3080", vram_bytes=12 * 2**30).name == "GeForce RTX 3080 12GB"  # type: ignore[union-attr]
    assert gpu_spec("NVIDIA GeForce RTX 3080", vram_bytes=10 * 2**30).name == "GeForce RTX 3080"  # type: ignore[union-attr]
    assert gpu_spec_by_pci_id("0x744C", vendor="amd", vram_bytes=16 * 2**30).name == "Radeon RX 7900 GRE"  # type: ignore[union-attr]


def test_dgx_spark_and_strix_halo_are_unified() -> None:
    assert gpu_spec("NVIDIA GB10").unified  # type: ignore[union-attr]
    assert gpu_spec_by_pci_id("0x1586", vendor="amd").unified  # type: ignore[union-attr]


def test_apple_tiers() -> None:
    assert all(row.source.startswith("https://") and row.says for row in apple_specs())
    assert apple_spec("Apple M4 Max", cpu_cores=14).bandwidth_gbps == 410  # type: ignore[union-attr]
    assert apple_spec("M4 Max", cpu_cores=16).bandwidth_gbps == 546  # type: ignore[union-attr]
    assert apple_spec("M2 Ultra").bandwidth_gbps == 800  # type: ignore[union-attr]
    assert apple_spec("M9 Hyper") is None


def test_nvcc_table_holds_the_sourced_builds() -> None:
    table = nvcc_versions()
    assert {"13.2.51": "13.2.0", "13.2.78": "13.2.1", "13.2.86": "13.2.2"}.items() <= table.items()
