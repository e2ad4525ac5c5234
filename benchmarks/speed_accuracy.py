"""How good are the speed estimates? Scores the rows ``calibrate_fit.py`` kept aside, beside two baselines.

For every kept-aside llama-bench row (and every local run in ``resources/calibration/local_runs.csv`` when
present) it compares the measured tokens/s with:

* **rigfit**: ``advisor.plan.speed`` with the fitted ``model.toml`` (the mid of the range; also whether the
  measurement falls inside the {low, high} range);
* **naive**: spec bandwidth / file size;
* **llmfit**: llmfit's published formula (written out in ``competitors.md`` section 4.2), on the same
  bandwidth figures.

Prints median absolute percentage error and the share within +-35 %, overall and per device class, and writes
the table into the "Speed" section of ``docs/accuracy.md`` (other sections of that file are left alone).
Targets: median error <= 15 %, >= 85 % of rows within +-35 %, better than both baselines.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calibrate_fit import CSV_PATH, MODEL_PATH, predict_decode_seconds, predict_prefill_seconds  # noqa: E402

from advisor.plan.calibration import BenchRow, load_bench_rows  # noqa: E402
from advisor.plan.speed import load_speed_model  # noqa: E402

DOC_PATH = ROOT / "docs" / "accuracy.md"
LOCAL_CSV = ROOT / "resources" / "calibration" / "local_runs.csv"
WITHIN = 0.35

# llmfit (competitors.md section 4.2): bytes per parameter for speed (Bq) and memory (bpp), quant multipliers.
_LLMFIT_BQ = {
    "F16": 2.0,
    "BF16": 2.0,
    "Q8_0": 1.0,
    "Q6_K": 0.75,
    "Q5_K_M": 0.625,
    "Q4_K_M": 0.5,
    "Q4_0": 0.5,
    "Q3_K_M": 0.375,
    "Q2_K": 0.25,
}
_LLMFIT_BPP = {
    "F16": 2.0,
    "BF16": 2.0,
    "Q8_0": 1.05,
    "Q6_K": 0.80,
    "Q5_K_M": 0.68,
    "Q4_K_M": 0.58,
    "Q4_0": 0.58,
    "Q3_K_M": 0.48,
    "Q2_K": 0.37,
}
_LLMFIT_QMULT = {"F16": 0.6, "Q8_0": 0.8, "Q6_K": 0.95, "Q5_K_M": 1.0, "Q4_K_M": 1.15, "Q3_K_M": 1.25, "Q2_K": 1.35}


def _base_quant(quant: str) -> str:
    """llmfit maps UD-* to the base K-quant; anything else unknown falls back to its 4-bit default."""
    q = quant.upper().removeprefix("UD-").replace("_XL", "_M")
    return q if q in _LLMFIT_BQ else "Q4_K_M"


def llmfit_tps(row: BenchRow) -> float:
    r = row.raw
    q = _base_quant(r["quant"])
    active_b = float(r["active_params"]) / 1e9
    bw = float(r["mem_bandwidth_gbps"])
    is_moe = float(r["active_params"]) < float(r["total_params"])
    placement = r["placement"]
    if row.speed_class.endswith("_cpu"):
        k = 90.0 if row.speed_class == "apple_cpu" else 70.0
        return k / active_b * _LLMFIT_QMULT.get(q, 1.0) * 1.1
    if placement == "experts_on_cpu":
        active_gb = active_b * _LLMFIT_BPP[q]
        t = active_gb / float(r["cpu_bandwidth_gbps"]) + active_gb / (bw * 0.55)
        return 0.8 / t
    mode = 0.9 if placement == "multi_gpu" else 1.0
    if is_moe:
        # tier 2 (tier 1 needs per-tensor shapes the CSV does not carry): expert-count factor from section 4.2
        f = 0.40  # every MoE here has more than 64 experts except gpt-oss-20b (32) and Mixtral (8)
        if "gpt-oss-20b" in r["model"]:
            f = 0.80
        elif "Mixtral" in r["model"]:
            f = 0.90
        return bw / (active_b * _LLMFIT_BPP[q]) * 0.55 * f * mode
    return bw / (active_b * _LLMFIT_BQ[q]) * 0.55 * mode


def naive_tps(row: BenchRow) -> float:
    bw = float(row.raw["mem_bandwidth_gbps"]) * 1e9
    return bw / float(row.raw["model_size_bytes"])


def _score(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    errors = [abs(pred / meas - 1.0) for pred, meas in pairs]
    return statistics.median(errors) * 100, sum(e <= WITHIN for e in errors) / len(errors) * 100


def evaluate(rows: list[BenchRow]) -> dict[str, object]:
    model = load_speed_model(MODEL_PATH)
    decode_rows = [r for r in rows if r.tg]
    prefill_rows = [r for r in rows if r.pp]
    methods: dict[str, Callable[[BenchRow], float]] = {
        "rigfit": lambda r: 1.0 / predict_decode_seconds(r, model) * model.decode_spread[1],
        "naive bandwidth / file size": naive_tps,
        "llmfit formula": llmfit_tps,
    }
    decode = {name: _score([(fn(r), r.tg) for r in decode_rows]) for name, fn in methods.items()}
    in_range = (
        sum(
            model.decode_spread[0] <= r.tg * predict_decode_seconds(r, model) <= model.decode_spread[2]
            for r in decode_rows
        )
        / max(1, len(decode_rows))
        * 100
    )
    prefill = _score([(1.0 / predict_prefill_seconds(r, model) * model.prefill_spread[1], r.pp) for r in prefill_rows])
    by_class: dict[str, tuple[int, float, float, float]] = {}
    for cls in sorted({r.speed_class for r in decode_rows}):
        subset = [r for r in decode_rows if r.speed_class == cls]
        ours = _score([(methods["rigfit"](r), r.tg) for r in subset])
        naive = _score([(naive_tps(r), r.tg) for r in subset])
        by_class[cls] = (len(subset), ours[0], ours[1], naive[0])
    worst = sorted(decode_rows, key=lambda r: -abs(methods["rigfit"](r) / r.tg - 1))[:5]
    return {
        "n_decode": len(decode_rows),
        "n_prefill": len(prefill_rows),
        "decode": decode,
        "in_range": in_range,
        "prefill": prefill,
        "by_class": by_class,
        "worst": [
            (r.raw["device"], r.raw["model"], r.raw["quant"], r.raw["placement"], r.tg, methods["rigfit"](r))
            for r in worst
        ],
    }


def render(result: dict[str, object], n_train: int, n_test: int, n_local: int) -> str:
    lines = [
        "## Speed",
        "",
        "Generated by `python benchmarks/speed_accuracy.py` (after `python benchmarks/calibrate_fit.py`). Rows: "
        f"{n_train} published llama-bench measurements fitted, {n_test} kept aside and scored here"
        + (f", plus {n_local} local runs" if n_local else " (no local runs recorded)")
        + ". Data: `resources/calibration/llama_bench.csv` (each row cites its source).",
        "",
        f"Decode (tokens/s, {result['n_decode']} rows): target median error <= 15 %, >= 85 % within +-35 %.",
        "",
        "| method | median abs. error | within +-35 % |",
        "| --- | ---: | ---: |",
    ]
    for name, (med, share) in result["decode"].items():  # type: ignore[union-attr]
        lines.append(f"| {name} | {med:.1f} % | {share:.0f} % |")
    med, share = result["prefill"]  # type: ignore[misc]
    lines += [
        "",
        f"Measured decode speed inside rigfit's {{low, high}} range: {result['in_range']:.0f} % of rows.",
        "",
        f"Prefill (prompt tokens/s, {result['n_prefill']} rows): rigfit median error {med:.1f} %, "
        f"{share:.0f} % within +-35 %.",
        "",
        "Decode by device class (kept-aside rows):",
        "",
        "| class | rows | rigfit median error | rigfit within +-35 % | naive median error |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for cls, (n, ours_med, ours_share, naive_med) in result["by_class"].items():  # type: ignore[union-attr]
        lines.append(f"| {cls} | {n} | {ours_med:.1f} % | {ours_share:.0f} % | {naive_med:.1f} % |")
    lines += ["", "Largest misses (device, model, quant, placement, measured, rigfit mid):", ""]
    for dev, model_name, quant, placement, meas, pred in result["worst"]:  # type: ignore[union-attr]
        lines.append(f"- {dev}, {model_name} {quant}, {placement}: measured {meas:.1f}, estimated {pred:.1f} t/s")
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = DOC_PATH) -> None:
    """Replace the '## Speed' section of docs/accuracy.md (up to the next '## ' heading), keeping the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Accuracy\n\n"
    pattern = re.compile(r"^## Speed\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/accuracy.md alone")
    args = parser.parse_args(argv)
    rows = load_bench_rows(CSV_PATH)
    test = [r for r in rows if r.split == "test"]
    local = load_bench_rows(LOCAL_CSV) if LOCAL_CSV.exists() else []
    result = evaluate(test + local)
    section = render(result, len(rows) - len(test), len(test), len(local))
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"wrote the Speed section of {DOC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
