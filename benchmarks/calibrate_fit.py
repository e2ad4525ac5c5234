"""Fit the speed model to published llama-bench runs and write ``resources/calibration/model.toml``.

Reads ``resources/calibration/llama_bench.csv`` (one row per published measurement, with its source), keeps
about 30 % of the rows aside (a fixed hash of each row decides, so the split never changes silently), and fits on
the rest, per speed class (NVIDIA, AMD, Apple, unified APUs, desktop / server / multi-socket / Apple CPUs):

* decode: ``1 / tg = bytes / (efficiency * bandwidth) + fixed cost`` by least squares on relative error;
* prefill: ``efficiency = pp * FLOPs per token / peak FLOPS`` (median);
* the {low, mid, high} spread: the 10th, 50th and 90th percentile of measured / predicted on the fit rows.

Classes with too few rows borrow the pooled GPU or CPU figures. ``benchmarks/speed_accuracy.py`` scores the
result on the rows kept aside. Run: ``python benchmarks/calibrate_fit.py`` (add ``--check`` to only print).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from advisor.plan.calibration import BenchRow, load_bench_rows  # noqa: E402
from advisor.plan.speed import (  # noqa: E402
    CPU_CLASSES,
    GPU_CLASSES,
    ClassParams,
    SpeedModel,
    decode_seconds_per_token,
    prefill_seconds_per_token,
)

CSV_PATH = ROOT / "resources" / "calibration" / "llama_bench.csv"
MODEL_PATH = ROOT / "resources" / "calibration" / "model.toml"
MAX_EFFICIENCY = 0.95
MAX_FIXED_S = 0.010  # 10 ms: llama.cpp's per-token overhead is a few ms (issue 5); never more than this
MIN_CLASS_ROWS = 5  # fewer fit rows than this: the class borrows the pooled figures
PCIE_GBPS = 25.0  # PCIe 4.0 x16 effective host-to-device copy rate (32 GB/s raw, minus protocol overhead)
DISK = {"efficiency": 0.5, "default_read_gbps": 3.0}  # random 2-4 MiB expert reads on an NVMe SSD (assumed)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares of y = a x + c on relative error, within physical bounds; returns (a, c).

    Bounds: efficiency 1 / a at most MAX_EFFICIENCY (no device streams its full spec bandwidth) and the fixed
    cost between 0 and MAX_FIXED_S. With a handful of rows of similar size the unbounded fit trades slope for
    intercept freely; the bounds keep both meaningful.
    """
    sxx = sxy = sx = s1 = sy = 0.0
    for x, y in points:
        u, v = x / y, 1.0 / y  # minimise sum (1 - a u - c v)^2
        sxx += u * u
        sxy += u * v
        s1 += v * v
        sx += u
        sy += v
    det = sxx * s1 - sxy * sxy
    a, c = (sx * s1 - sy * sxy) / det, (sy * sxx - sx * sxy) / det if det > 0 else (sx / sxx, 0.0)
    if a < 1.0 / MAX_EFFICIENCY:
        a = 1.0 / MAX_EFFICIENCY
        c = (sy - a * sxy) / s1
    c = min(max(c, 0.0), MAX_FIXED_S)
    return max(_fit_slope(points, c), 1.0 / MAX_EFFICIENCY), c


def _fit_slope(points: list[tuple[float, float]], c: float) -> float:
    """Best a for y = a x + c with c fixed (relative error)."""
    num = sum((x / y) * (1 - c / y) for x, y in points)
    den = sum((x / y) ** 2 for x, y in points)
    return num / den


def _single_class_decode_points(rows: list[BenchRow]) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row.tg is None or len(row.works) != 1:
            continue
        work = row.works[0]
        x = (work.decode_read_bytes + row.decode_depth * work.kv_bytes_per_token) / (work.bandwidth_gbps * 1e9)
        points.setdefault(row.speed_class, []).append((x, 1.0 / row.tg))
    return points


def fit(rows: list[BenchRow]) -> SpeedModel:
    """Fit every class on ``rows`` (the training split)."""
    points = _single_class_decode_points(rows)
    pooled: dict[str, tuple[float, float]] = {}
    for group, members in (
        ("gpu", [c for c in points if c not in CPU_CLASSES]),
        ("cpu", [c for c in points if c in CPU_CLASSES]),
    ):
        merged = [p for c in members for p in points[c]]
        if merged:
            pooled[group] = _fit_line(merged)
    decode: dict[str, tuple[float, float]] = {}
    all_classes = (*GPU_CLASSES, *CPU_CLASSES)
    for cls in all_classes:
        group = "cpu" if cls in CPU_CLASSES else "gpu"
        pts = points.get(cls, [])
        if len(pts) >= MIN_CLASS_ROWS:
            decode[cls] = _fit_line(pts)
        elif pts:
            c = pooled[group][1]
            decode[cls] = (_fit_slope(pts, c), c)
        else:
            decode[cls] = pooled[group]

    prefill_eff: dict[str, list[float]] = {}
    class_bw: dict[str, list[float]] = {}
    class_tflops: dict[str, list[float]] = {}
    class_ratio: dict[str, list[float]] = {}
    for row in rows:
        work = row.works[0]
        class_bw.setdefault(row.speed_class, []).append(
            work.bandwidth_gbps * (len(row.works) if row.speed_class in CPU_CLASSES else 1)
        )
        class_tflops.setdefault(row.speed_class, []).append(work.peak_tflops)
        class_ratio.setdefault(row.speed_class, []).append(work.peak_tflops / work.bandwidth_gbps)
        if row.pp is None or row.raw["placement"] == "experts_on_cpu":
            continue
        flops = 2.0 * row.workload.active_params + row.workload.attention_flops_per_context_token * (
            row.prefill_depth + row.prompt_tokens / 2
        )
        peak = sum(w.peak_tflops for w in row.works[:1]) * 1e12
        prefill_eff.setdefault(row.speed_class, []).append(row.pp * flops / peak)
    pooled_pp = {
        g: statistics.median([e for c, es in prefill_eff.items() if (c in CPU_CLASSES) == (g == "cpu") for e in es])
        for g in ("gpu", "cpu")
    }
    classes = {}
    for cls in all_classes:
        group = "cpu" if cls in CPU_CLASSES else "gpu"
        a, c = decode[cls]
        effs = prefill_eff.get(cls, [])
        classes[cls] = ClassParams(
            decode_efficiency=round(min(1.0, 1.0 / a), 4),
            fixed_ms=round(c * 1e3, 3),
            prefill_efficiency=round(statistics.median(effs) if len(effs) >= 2 else pooled_pp[group], 4),
            default_bandwidth_gbps=round(statistics.median(class_bw.get(cls, [60.0])), 1),
            default_tflops=round(statistics.median(class_tflops.get(cls, [1.0])), 2),
            tflops_per_gbps=round(statistics.median(class_ratio.get(cls, [0.0])), 5),
        )
    model = SpeedModel(classes, 0.0, PCIE_GBPS, DISK["efficiency"], DISK["default_read_gbps"], (1, 1, 1), (1, 1, 1))

    hops = []
    for row in rows:
        n_same = len(row.works)
        if row.tg is None or n_same < 2 or row.raw["placement"] != "multi_gpu":
            continue
        hops.append((1.0 / row.tg - decode_seconds_per_token(row.works, model, row.decode_depth)) / (n_same - 1))
    hop_ms = max(0.0, statistics.median(hops) * 1e3) if hops else 0.0
    model = SpeedModel(
        classes, round(hop_ms, 3), PCIE_GBPS, DISK["efficiency"], DISK["default_read_gbps"], (1, 1, 1), (1, 1, 1)
    )

    dec_ratios = [r.tg * predict_decode_seconds(r, model) for r in rows if r.tg]
    pre_ratios = [r.pp * predict_prefill_seconds(r, model) for r in rows if r.pp]
    spread = lambda v: tuple(round(_quantile(v, q), 3) for q in (0.1, 0.5, 0.9))  # noqa: E731
    return SpeedModel(
        classes,
        round(hop_ms, 3),
        PCIE_GBPS,
        DISK["efficiency"],
        DISK["default_read_gbps"],
        spread(dec_ratios),
        spread(pre_ratios),
        version="calibration v1",
        train_rows=len(rows),
    )


def predict_decode_seconds(row: BenchRow, model: SpeedModel) -> float:
    return decode_seconds_per_token(row.works, model, row.decode_depth)


def predict_prefill_seconds(row: BenchRow, model: SpeedModel) -> float:
    return prefill_seconds_per_token(
        row.works, row.workload, model, prompt_tokens=row.prompt_tokens, depth=row.prefill_depth
    )


def to_toml(model: SpeedModel, n_rows: int) -> str:
    lines = [
        "# The fitted speed model. GENERATED by benchmarks/calibrate_fit.py from llama_bench.csv: do not edit by hand.",
        "# decode: seconds per token = bytes / (decode_efficiency * spec bandwidth) + fixed_ms (per class involved)",
        "#         + hop_ms per extra device of one class; prefill: FLOPs / (prefill_efficiency * peak FLOPS).",
        "# spread: 10th / 50th / 90th percentile of measured / predicted on the fit rows (the {low, mid, high} range).",
        "# default_bandwidth_gbps / default_tflops / tflops_per_gbps: medians over the calibration devices of the",
        "# class, used only when the hardware gives no figure (peak FLOPS are then guessed from bandwidth).",
        f'version = "{model.version}"',
        f"train_rows = {model.train_rows}",
        f"all_rows = {n_rows}",
        "",
        "[multi_device]",
        f"hop_ms = {model.hop_ms}  # fitted on the multi-GPU (layer split) rows",
        f"pcie_gbps = {model.pcie_gbps}  # PCIe 4.0 x16 usable copy rate: 16 GT/s x 16 lanes ~ 32 GB/s raw",
        "",
        "[disk]",
        f"efficiency = {model.disk_efficiency}  # assumption: scattered expert reads reach half of sequential speed",
        f"default_read_gbps = {model.default_disk_gbps}  # assumption: an NVMe SSD, when the probe has none",
        "",
        "[spread]",
        f"decode_low = {model.decode_spread[0]}",
        f"decode_mid = {model.decode_spread[1]}",
        f"decode_high = {model.decode_spread[2]}",
        f"prefill_low = {model.prefill_spread[0]}",
        f"prefill_mid = {model.prefill_spread[1]}",
        f"prefill_high = {model.prefill_spread[2]}",
    ]
    for name, params in model.classes.items():
        lines += [
            "",
            f"[classes.{name}]",
            f"decode_efficiency = {params.decode_efficiency}",
            f"fixed_ms = {params.fixed_ms}",
            f"prefill_efficiency = {params.prefill_efficiency}",
            f"default_bandwidth_gbps = {params.default_bandwidth_gbps}",
            f"default_tflops = {params.default_tflops}",
            f"tflops_per_gbps = {params.tflops_per_gbps}",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print the fit without writing model.toml")
    args = parser.parse_args(argv)
    rows = load_bench_rows(CSV_PATH)
    train = [r for r in rows if r.split == "train"]
    model = fit(train)
    text = to_toml(model, len(rows))
    print(f"{len(rows)} rows: {len(train)} fit, {len(rows) - len(train)} kept aside")
    print(text)
    if not args.check:
        MODEL_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {MODEL_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
