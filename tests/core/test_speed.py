"""The speed model: direction of every effect, ordered ranges, the local calibration store, and real rows."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest

from advisor.cli import main as cli_main
from advisor.commands.calibrate import calibrate, find_llama_bench, gguf_workload, parse_llama_bench_json
from advisor.errors import RigfitError
from advisor.hardware.types import Cpu, Disk, Gpu, Hardware, Memory
from advisor.model.types import ModelFacts
from advisor.plan.calibration import (
    LocalRun,
    hardware_fingerprint,
    load_bench_rows,
    load_local_run,
    local_scale,
    save_local_run,
)
from advisor.plan.speed import (
    cpu_speed_class,
    decode_seconds_per_token,
    default_speed_model,
    estimate_speed,
    gpu_speed_class,
    load_speed_model,
    prefill_seconds_per_token,
    with_speed,
)
from advisor.plan.types import DeviceMemory, OptionPlan, SpeedRange, Verdict
from advisor.resources import resource_path

GIB = 2**30

# A 70B-class dense model and a 230B-A10B MoE, as the planner would describe them.
DENSE = ModelFacts(
    architecture="llama",
    block_count=80,
    context_length=131072,
    embedding_length=8192,
    vocab_size=128256,
    head_count=(64,) * 80,
    head_count_kv=(8,) * 80,
    key_length=128,
    value_length=128,
    total_params=70_600_000_000,
    active_params=70_600_000_000,
)
MOE = replace(DENSE, expert_count=256, expert_used_count=8, total_params=229_000_000_000, active_params=10_000_000_000)


def machine(gpu_bandwidth: float = 1008.0, ram_bandwidth: float = 80.0) -> Hardware:
    return Hardware(
        cpu=Cpu(name="AMD Ryzen 9 7950X", arch="x86_64", physical_cores=16, features=("avx2", "avx512f")),
        memory=Memory(total_bytes=128 * GIB, bandwidth_gbps=ram_bandwidth),
        gpus=(
            Gpu(
                vendor="nvidia", name="NVIDIA GeForce RTX 4090", vram_total_bytes=24 * GIB, bandwidth_gbps=gpu_bandwidth
            ),
        ),
        disk=Disk(path="/", read_gbps=3.5),
    )


def gpu_row(read: int, kv_per_token: int = 327_680) -> DeviceMemory:
    return DeviceMemory(device="CUDA0", kind="gpu", decode_read_bytes=read, kv_bytes_per_token=kv_per_token)


def cpu_row(read: int, **kw: int) -> DeviceMemory:
    return DeviceMemory(device="CPU", kind="cpu", decode_read_bytes=read, **kw)


def ordered(r: SpeedRange | None) -> bool:
    return r is not None and 0 < r.low <= r.mid <= r.high


def test_more_bandwidth_is_faster() -> None:
    devices = [gpu_row(20 * GIB)]
    slow = estimate_speed(DENSE, devices, machine(gpu_bandwidth=500), context=4096)
    fast = estimate_speed(DENSE, devices, machine(gpu_bandwidth=1000), context=4096)
    assert fast.decode_tps.mid > slow.decode_tps.mid * 1.5
    # the fixed per-token cost keeps it below a clean doubling
    assert fast.decode_tps.mid < slow.decode_tps.mid * 2


def test_fewer_bytes_per_token_is_faster_but_not_proportionally() -> None:
    hw = machine()
    big = estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=0).decode_tps.mid
    small = estimate_speed(DENSE, [gpu_row(2 * GIB)], hw, context=0).decode_tps.mid
    assert big < small < big * 10


def test_deeper_context_decodes_slower() -> None:
    estimate = estimate_speed(DENSE, [gpu_row(20 * GIB)], machine(), context=65536)
    assert estimate.decode_tps_at_context.mid < estimate.decode_tps.mid * 0.8
    shallow = estimate_speed(DENSE, [gpu_row(20 * GIB)], machine(), context=1024)
    assert shallow.decode_tps_at_context.mid > estimate.decode_tps_at_context.mid


def test_experts_on_cpu_slower_than_all_on_gpu() -> None:
    hw = replace(machine(), gpus=(replace(machine().gpus[0], vram_total_bytes=96 * GIB),))
    read = int(10e9 * 0.6)  # 10B active params at ~4.8 bits
    all_gpu = estimate_speed(MOE, [gpu_row(read, 253_952)], hw, context=32768)
    split = estimate_speed(MOE, [gpu_row(read // 4, 253_952), cpu_row(read * 3 // 4)], hw, context=32768)
    assert split.decode_tps.mid < all_gpu.decode_tps.mid / 2
    assert split.prefill_tps.mid < all_gpu.prefill_tps.mid


def test_disk_stream_slower_than_fitting_in_ram() -> None:
    hw = replace(machine(), gpus=())
    read = 6 * GIB
    in_ram = cpu_row(read, mapped_weights_bytes=140 * GIB, capacity_bytes=256 * GIB, weights_bytes=140 * GIB)
    too_big = cpu_row(read, mapped_weights_bytes=140 * GIB, capacity_bytes=64 * GIB, weights_bytes=140 * GIB)
    fits = estimate_speed(MOE, [in_ram], hw, context=8192, disk_stream=True)
    streams = estimate_speed(MOE, [too_big], hw, context=8192, disk_stream=True)
    assert streams.decode_tps.mid < fits.decode_tps.mid / 3
    assert streams.prefill_tps.mid < fits.prefill_tps.mid / 3  # every micro-batch re-reads the uncached weights
    assert "disk" in streams.estimate_basis


def test_ranges_are_ordered_everywhere() -> None:
    for devices in ([gpu_row(4 * GIB)], [cpu_row(4 * GIB)], [gpu_row(GIB), cpu_row(3 * GIB)]):
        est = estimate_speed(DENSE, devices, machine(), context=16384)
        assert ordered(est.decode_tps) and ordered(est.prefill_tps) and ordered(est.decode_tps_at_context)
        assert est.estimate_basis.startswith("calibration")


def test_apple_and_unified_use_their_own_classes() -> None:
    mac = Hardware(
        cpu=Cpu(name="Apple M2 Ultra", arch="arm64", physical_cores=24, features=("neon",)),
        memory=Memory(total_bytes=192 * GIB),
        gpus=(Gpu(vendor="apple", name="Apple M2 Ultra", bandwidth_gbps=800, unified_memory=True),),
        os="macos",
    )
    unified = [
        DeviceMemory(device="Metal", kind="unified", decode_read_bytes=int(39.6 * GIB), kv_bytes_per_token=327_680)
    ]
    est = estimate_speed(DENSE, unified, mac, context=4096)
    # published: Llama 3 70B Q4_K_M on an M2 Ultra decodes at about 12.5 t/s (XiongjieDai benchmark table)
    assert 8 < est.decode_tps.mid < 18
    assert cpu_speed_class(mac.cpu, "macos") == "apple_cpu"
    assert gpu_speed_class(Gpu(vendor="nvidia", name="NVIDIA H100 PCIe"), "gpu") == "nvidia_datacenter"
    assert gpu_speed_class(Gpu(vendor="nvidia", name="NVIDIA GeForce RTX 4090"), "gpu") == "nvidia_gpu"
    assert gpu_speed_class(Gpu(vendor="nvidia", name="NVIDIA GB10", unified_memory=True), "unified") == "unified_apu"
    assert cpu_speed_class(Cpu(name="AMD EPYC 9654", physical_cores=96)) == "server_cpu"
    assert cpu_speed_class(Cpu(name="Intel Xeon", sockets=2)) == "multi_socket_cpu"


def test_model_toml_is_what_the_fit_produces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped model.toml must be reproducible from the CSV: nobody tuned it by hand."""
    monkeypatch.syspath_prepend(str(resource_path("..", "benchmarks")))
    from calibrate_fit import fit, to_toml

    rows = load_bench_rows()
    train = [r for r in rows if r.split == "train"]
    out = tmp_path / "model.toml"
    out.write_text(to_toml(fit(train), len(rows)), encoding="utf-8")
    assert load_speed_model(out) == default_speed_model()


def test_held_out_published_rows_within_generous_bounds() -> None:
    model = default_speed_model()
    rows = [r for r in load_bench_rows() if r.split == "test"]
    decode = [r for r in rows if r.tg]
    assert len(decode) >= 30
    ratios = [r.tg * decode_seconds_per_token(r.works, model, r.decode_depth) for r in decode]
    assert sum(0.5 <= x <= 2.0 for x in ratios) / len(ratios) >= 0.9
    prefill = [r for r in rows if r.pp]
    pratios = [
        r.pp
        * prefill_seconds_per_token(r.works, r.workload, model, prompt_tokens=r.prompt_tokens, depth=r.prefill_depth)
        for r in prefill
    ]
    assert sum(1 / 3 <= x <= 3 for x in pratios) / len(pratios) >= 0.8


def test_every_published_row_cites_a_source() -> None:
    rows = [r for r in load_bench_rows() if r.split != "local"]
    assert len(rows) >= 80
    assert all(r.raw["source"].startswith("https://") for r in rows)
    classes = {r.speed_class for r in rows}
    assert {"nvidia_gpu", "amd_gpu", "apple", "unified_apu", "desktop_cpu", "server_cpu"} <= classes


# ------------------------------------------------------------------------------------ local calibration


def test_store_round_trip_and_scaled_estimate(tmp_path: Path) -> None:
    hw = machine()
    store = tmp_path / "speed.json"
    run = LocalRun(
        hardware_fingerprint(hw), "m.gguf", measured_tg=60.0, predicted_tg=50.0, measured_pp=900, predicted_pp=1000
    )
    save_local_run(run, store)
    assert load_local_run(hw, store) == run
    assert load_local_run(machine(ram_bandwidth=80.0), store) == run  # same machine, same fingerprint
    other = replace(hw, memory=Memory(total_bytes=64 * GIB))
    assert local_scale(other, store) is None
    scale = local_scale(hw, store)
    assert scale.decode_factor == pytest.approx(1.2)
    base = estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=4096)
    scaled = estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=4096, local=scale)
    assert scaled.decode_tps.mid == pytest.approx(base.decode_tps.mid * 1.2, rel=0.01)
    assert scaled.prefill_tps.mid == pytest.approx(base.prefill_tps.mid * 0.9, rel=0.01)
    assert "measured run" in scaled.estimate_basis


def test_default_store_lives_in_user_data_dir_and_is_applied_automatically() -> None:
    from advisor.plan.calibration import store_path

    assert str(store_path()).startswith(os.environ["XDG_DATA_HOME"])
    hw = machine()
    before = estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=4096)
    assert "measured" not in before.estimate_basis
    save_local_run(LocalRun(hardware_fingerprint(hw), "m.gguf", measured_tg=40.0, predicted_tg=50.0))
    after = estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=4096)
    assert after.decode_tps.mid == pytest.approx(before.decode_tps.mid * 0.8, rel=0.01)
    assert "your measured run of m.gguf" in after.estimate_basis
    pure = estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=4096, local=None)
    assert pure == before
    store_path().write_text("garbage", encoding="utf-8")  # a damaged store never breaks planning
    assert estimate_speed(DENSE, [gpu_row(20 * GIB)], hw, context=4096) == before


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    store = tmp_path / "speed.json"
    store.write_text("{not json", encoding="utf-8")
    with pytest.raises(RigfitError, match="cannot be read"):
        local_scale(machine(), store)


def test_calibrate_without_llama_bench_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RigfitError, match="llama-bench was not found"):
        find_llama_bench()
    model = tmp_path / "m.gguf"
    model.write_bytes(b"")
    assert cli_main(["calibrate", str(model)]) == 2
    err = capsys.readouterr().err
    assert "llama-bench was not found on PATH" in err
    assert "Traceback" not in err
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "rigfit").exists()  # nothing stored


def _tiny_gguf(path: Path) -> None:
    """A real (tiny) GGUF: two layers of a llama-shaped model written with the gguf package."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_context_length(256)
    writer.add_feed_forward_length(128)
    rng = np.random.default_rng(0)
    writer.add_tensor("token_embd.weight", rng.standard_normal((100, 64), dtype=np.float32))
    writer.add_tensor("output.weight", rng.standard_normal((100, 64), dtype=np.float32))
    for i in range(2):
        for name, shape in (("attn_q", (64, 64)), ("ffn_up", (128, 64))):
            writer.add_tensor(f"blk.{i}.{name}.weight", rng.standard_normal(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_workload_skips_untied_embeddings(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _tiny_gguf(path)
    workload, read_bytes = gguf_workload(path)
    per_layer = (64 * 64 + 128 * 64) * 4
    assert read_bytes == 2 * per_layer + 100 * 64 * 4  # layers + output, not token_embd
    assert workload.attention_flops_per_context_token == 4.0 * 2 * 4 * 16


def test_calibrate_with_a_llama_bench_stores_the_factor(tmp_path: Path) -> None:
    """llama-bench cannot be built here, so a stand-in script prints llama-bench's JSON shape."""
    path = tmp_path / "tiny.gguf"
    _tiny_gguf(path)
    fake = tmp_path / "llama-bench"
    results = [
        {"build_commit": "abc123", "n_prompt": 512, "n_gen": 0, "avg_ts": 850.0},
        {"build_commit": "abc123", "n_prompt": 0, "n_gen": 128, "avg_ts": 420.0},
    ]
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(results)}\nEOF\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    hw = replace(machine(), gpus=())
    store = tmp_path / "store.json"
    lines: list[str] = []
    run = calibrate(path, hw, str(fake), store=store, progress=lines.append)
    assert run.measured_tg == 420.0 and run.measured_pp == 850.0 and run.llama_cpp_build == "abc123"
    assert local_scale(hw, store).decode_factor == pytest.approx(420.0 / run.predicted_tg)
    assert any("Saved to" in line for line in lines)


def test_calibrate_command_end_to_end_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI probes this machine, runs (stand-in) llama-bench from PATH and stores the factor for it."""
    path = tmp_path / "tiny.gguf"
    _tiny_gguf(path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    results = [{"build_commit": "b1", "n_prompt": 0, "n_gen": 128, "avg_ts": 250.0}]
    fake = bindir / "llama-bench"
    fake.write_text(f"#!/bin/sh\necho '{json.dumps(results)}'\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert cli_main(["calibrate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "measured 250.0 t/s" in out
    from advisor.hardware.probe import probe

    stored = load_local_run(probe())
    assert stored is not None and stored.measured_tg == 250.0 and stored.model == "tiny.gguf"


def test_parse_llama_bench_rejects_garbage() -> None:
    with pytest.raises(RigfitError, match="not JSON"):
        parse_llama_bench_json("| model | size |")


def test_with_speed_fills_the_option_and_skips_impossible() -> None:
    rows = (gpu_row(20 * GIB),)
    option = OptionPlan("Q4_K_M", (), 20 * GIB, Verdict.GPU, "fits", memory=rows, context=8192)
    filled = with_speed(option, DENSE, machine())
    assert ordered(filled.decode_tps) and ordered(filled.decode_tps_at_context) and filled.estimate_basis
    assert filled.decode_tps_at_context.mid < filled.decode_tps.mid
    impossible = replace(option, verdict=Verdict.IMPOSSIBLE)
    assert with_speed(impossible, DENSE, machine()) is impossible
