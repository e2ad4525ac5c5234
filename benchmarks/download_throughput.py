"""Download throughput: the same file from the loopback Hub with ``curl`` and with Rigfit's downloader.

    python benchmarks/download_throughput.py [--size-gb 2] [--repeat 5] [--tmp /tmp]

A sparse file of ``--size-gb`` GB (decimal) is served by the test suite's loopback Hub (``tests/fixtures/hubserver``)
in its own process, as an LFS file behind the Hub's 302 to a CDN origin; the origin sends it with ``sendfile`` as a
real file server does, so the server takes next to no CPU from the clients it is timing. Each round, in turn:

- ``curl -L -o FILE``: the bytes to disk, nothing else;
- ``advisor.download.job.download`` (after curl in odd rounds, before it in even ones): Rigfit's downloader (Range
  transfer, sha256 while streaming, fsync, rename), in a fresh process whose modules are imported before the clock
  starts (as in ``rigfit download``, where resolving the model has imported them already);
- Rigfit from memory: Rigfit's write path (blocks, writer, sha256, write-behind, ``fsync``) fed the file's bytes
  from memory instead of a socket: the verified, durable writing alone, with the network taken out;
- ``curl -L -o FILE && sync FILE``: curl's bytes made durable on disk (Rigfit fsyncs each file before renaming it);
- ``curl -L | tee FILE | sha256sum``: the bytes plus their hash, the other half of a verified download's work.

Outputs are deleted after each run so every run downloads from zero. The medians and the ratio
Rigfit / plain curl (the target is 0.9 or better) are printed as a Markdown table for ``docs/performance.md``,
with every round's figures and the per-round ratio (curl and Rigfit of one round run seconds apart, under the
same load of the moment on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "bench/throughput-GGUF"
FILE = "bench-Q8_0.gguf"


def serve(source: Path) -> None:
    """Child process: serve ``source`` on the loopback Hub; print endpoint and sha256; run until killed."""
    from tests.fixtures.hubserver import HubServer

    hub = HubServer().start()
    entry = hub.add_repo(REPO_ID).add_file(FILE, disk_path=source)
    print(hub.endpoint, entry.sha256, flush=True)
    while True:
        time.sleep(3600)


def client(endpoint: str, sha256: str, size: int, dest: Path, *, durable: bool = True) -> None:
    """Child process: download once with Rigfit and print the seconds the download took.

    ``durable=False`` (``--diagnose`` only) turns the background ``fdatasync`` and the final ``fsync`` into no-ops:
    what the receive / write / hash pipeline alone achieves. Never a way to run Rigfit.
    """
    os.environ["HF_ENDPOINT"] = endpoint
    if not durable:
        from advisor.download import transfer

        transfer._fdatasync = lambda fd: None
        transfer.os.fsync = lambda fd: None  # the module's os is the process's: this child only downloads
    import importlib

    importlib.import_module("huggingface_hub.file_download")  # before timing, as after resolving a model

    from advisor.download.job import DownloadRequest, download
    from advisor.model.types import RepoFile

    request = DownloadRequest(REPO_ID, "main", (RepoFile(FILE, size, sha256),), dest)
    start = time.perf_counter()
    result = download(request)
    elapsed = time.perf_counter() - start
    assert result.paths and result.paths[0].stat().st_size == size
    print(f"{elapsed:.6f}")


def from_memory(size: int, path: Path) -> None:
    """Child process: Rigfit's own write path fed from memory instead of a socket; print the seconds.

    The same blocks, writer, hasher, flusher and final ``fsync`` as a download, with the file's bytes (zeros)
    copied from memory rather than received: the time a verified, durable download of this file needs on this
    machine with the network taken out. Rigfit close to it means the receiving side costs next to nothing.
    """
    import hashlib

    from advisor.download.transfer import FileTarget, _PartWriter, _receive
    from advisor.model.types import RepoFile

    zeros = memoryview(bytes(1 << 20))

    class MemoryBody:
        def __init__(self) -> None:
            self.left = size

        def readinto(self, buffer: memoryview) -> int:
            count = min(len(buffer), len(zeros), self.left)  # about what a loopback socket read returns
            buffer[:count] = zeros[:count]
            self.left -= count
            return count

    target = FileTarget(REPO_ID, "main", RepoFile(FILE, size, None), path.parent)
    start = time.perf_counter()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    writer = _PartWriter(fd, target, 0, hashlib.sha256())
    try:
        _receive(MemoryBody(), writer, target, lambda _done: None, lambda: False)
        writer.finish()
    finally:
        writer.close()
    writer.hasher.hexdigest()
    os.fsync(fd)
    os.close(fd)
    print(f"{time.perf_counter() - start:.6f}")


def _timed(command: list[str] | str, *, shell: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, shell=shell, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--diagnose", action="store_true", help="also time Rigfit with its fsyncs turned off (where the time goes)"
    )
    parser.add_argument("--no-fsync", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--from-memory", nargs=2, metavar=("SIZE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=4, metavar=("ENDPOINT", "SHA256", "SIZE", "DEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.from_memory:
        from_memory(int(args.from_memory[0]), Path(args.from_memory[1]))
        return 0
    if args.client:
        endpoint, sha, size, dest = args.client
        client(endpoint, sha, int(size), Path(dest), durable=not args.no_fsync)
        return 0
    if shutil.which("curl") is None:
        print("curl is not installed", file=sys.stderr)
        return 2

    size = int(args.size_gb * 1e9)
    need = 2 * size + 512 * 2**20  # the download and curl's copy never coexist with another; sparse source
    free = shutil.disk_usage(args.tmp).free
    if free < need:
        print(f"need {need / 1e9:.1f} GB free in {args.tmp}, have {free / 1e9:.1f} GB", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="rigfit-bench-", dir=args.tmp))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_DISABLE_TELEMETRY": "1"}
    server = None
    try:
        source = work / "source.gguf"
        with open(source, "wb") as fh:
            fh.truncate(size)  # sparse: generated without writing 2 GB
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(source)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        assert server.stdout is not None
        endpoint, sha256 = server.stdout.readline().split()
        url = f"{endpoint}/{REPO_ID}/resolve/main/{FILE}"
        out = work / "out"
        variants = {"rigfit": []} | ({"rigfit without fsync (diagnostic)": ["--no-fsync"]} if args.diagnose else {})
        times: dict[str, list[float]] = {"curl": [], **{name: [] for name in variants}}
        times |= {"rigfit from memory": [], "curl + fsync": [], "curl + sha256sum": []}

        def time_curl() -> None:
            times["curl"].append(_timed(["curl", "-sSfL", "-o", str(out), url]))
            out.unlink()
            subprocess.run(["sync"], check=True)  # no dirty pages of the last run slow down the next

        def time_rigfit() -> None:
            for name, extra in variants.items():
                dest = work / "rigfit"
                run = subprocess.run(
                    [sys.executable, __file__, "--client", endpoint, sha256, str(size), str(dest), *extra],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=ROOT,
                )
                times[name].append(float(run.stdout.strip().splitlines()[-1]))
                shutil.rmtree(dest)
                subprocess.run(["sync"], check=True)

        for round_no in range(1, args.repeat + 1):
            # curl and Rigfit back to back, so their ratio compares runs under the same load of the moment; which
            # goes first alternates, so neither always inherits the state the other leaves (page cache, writeback).
            for step in (time_curl, time_rigfit) if round_no % 2 else (time_rigfit, time_curl):
                step()
            memory = subprocess.run(
                [sys.executable, __file__, "--from-memory", str(size), str(out)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
            )
            times["rigfit from memory"].append(float(memory.stdout.strip()))
            out.unlink()
            subprocess.run(["sync"], check=True)
            times["curl + fsync"].append(_timed(f"curl -sSfL -o '{out}' '{url}' && sync '{out}'", shell=True))
            out.unlink()
            times["curl + sha256sum"].append(_timed(f"curl -sSfL '{url}' | tee '{out}' | sha256sum", shell=True))
            out.unlink()
            subprocess.run(["sync"], check=True)
            print(
                f"round {round_no}: " + ", ".join(f"{k} {size / v[-1] / 1e6:.0f} MB/s" for k, v in times.items()),
                file=sys.stderr,
            )
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)

    median = {k: statistics.median(v) for k, v in times.items()}
    load = os.getloadavg()
    print(f"File: {size / 1e9:.1f} GB (sparse), loopback Hub in its own process, {args.repeat} rounds, medians.")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average at the end {load[0]:.1f}."
    )
    print()
    print("| client | median time (s) | throughput (MB/s) | ratio to curl |")
    print("| --- | --- | --- | --- |")
    for name, seconds in median.items():
        print(f"| {name} | {seconds:.2f} | {size / seconds / 1e6:.0f} | {median['curl'] / seconds:.2f} |")
    paired = [c / r for c, r in zip(times["curl"], times["rigfit"], strict=True)]
    ceiling = [c / f for c, f in zip(times["curl"], times["rigfit from memory"], strict=True)]
    print()
    print(
        "Per round, MB/s: "
        + "; ".join(f"{k} " + " / ".join(f"{size / t / 1e6:.0f}" for t in v) for k, v in times.items())
    )
    print(
        "Rigfit / curl per round (the two run back to back, so they share the load of the moment): "
        + ", ".join(f"{r:.2f}" for r in paired)
        + f"; median {statistics.median(paired):.2f}."
    )
    print(
        "Rigfit's write path without the network, per round (curl / rigfit from memory): "
        + ", ".join(f"{r:.2f}" for r in ceiling)
        + f"; median {statistics.median(ceiling):.2f}."
    )
    print()
    print(
        f"Rigfit / curl: {median['curl'] / median['rigfit']:.2f} (target 0.9); "
        f"Rigfit / (curl + fsync): {median['curl + fsync'] / median['rigfit']:.2f}; "
        f"Rigfit / (curl + sha256sum): {median['curl + sha256sum'] / median['rigfit']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
