"""Time from launch to the first painted main window, from the source tree and from the frozen bundle.

Each run starts a fresh process with ``RIGFIT_EXIT_AFTER_FIRST_PAINT=1`` (the app prints a marker after its
first paint and quits) and measures wall time from just before the launch to the marker. Results go to
docs/performance.md (section "Start-up"). Target: under 1.5 s from source on the project's 2-core machine.

    python benchmarks/startup.py [--runs 7] [--bundle dist/Rigfit/rigfit-debug] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "rigfit-first-paint"


def time_launch(argv: list[str], timeout: float = 60.0) -> float:
    env = dict(os.environ, RIGFIT_EXIT_AFTER_FIRST_PAINT="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    assert proc.stdout is not None
    buffer = b""
    deadline = start + timeout
    try:
        while MARKER.encode() not in buffer:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise RuntimeError(f"{argv[0]} painted no window within {timeout:.0f} s")
            ready, _, _ = select.select([proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"{argv[0]} exited ({proc.wait()}) without painting a window")
                buffer += chunk
        elapsed = time.perf_counter() - start
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return elapsed


def measure(label: str, argv: list[str], runs: int) -> dict[str, float | str]:
    time_launch(argv)  # warm the page cache: we measure start-up, not the first disk read
    times = sorted(time_launch(argv) for _ in range(runs))
    return {"label": label, "median": statistics.median(times), "min": times[0], "max": times[-1]}


def main() -> int:
    ap = argparse.ArgumentParser(description="Time launch to first painted window.")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bundle", default=str(ROOT / "dist" / "Rigfit" / "rigfit-debug"))
    ap.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = ap.parse_args()
    rows = [measure("source tree (`python -m ui.app`)", [sys.executable, "-m", "ui.app"], args.runs)]
    if Path(args.bundle).exists():
        rows.append(measure("frozen bundle (PyInstaller one-folder)", [args.bundle], args.runs))
    else:
        print(f"no bundle at {args.bundle}: run `make package` to measure it too", file=sys.stderr)
    lines = [
        "## Start-up",
        "",
        f"Launch to first painted main window, {args.runs} runs after one warm-up, "
        f"`QT_QPA_PLATFORM=offscreen`, {platform.machine()} with {os.cpu_count()} cores "
        f"(`python benchmarks/startup.py --write`, {time.strftime('%Y-%m-%d')}). Target: under 1.5 s from source.",
        "",
        "| build | median | min | max |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['label']} | {r['median']:.2f} s | {r['min']:.2f} s | {r['max']:.2f} s |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        _replace_section(ROOT / "docs" / "performance.md", "## Start-up", text)
    return 0


def _replace_section(path: Path, heading: str, text: str) -> None:
    """Replace one '## ' section of a shared results file, keeping the others' sections."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    parts = old.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    sections = [s for s in sections if not s.startswith(heading)]
    sections.append(text)
    path.write_text(head.rstrip() + "\n\n" + "\n".join(s.rstrip() + "\n" for s in sections), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
