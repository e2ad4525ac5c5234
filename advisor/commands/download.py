"""``rigfit download MODEL QUANT``: fetch a quant's files (all shards) into a folder, resumably and verified.

The file list, sizes and hashes are the resolved model's ``QuantOption`` (what ``rigfit plan`` shows), so the list
printed before the confirmation is exactly what is written. Running the same command again resumes: partial files
are kept on Ctrl-C, on errors and across restarts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from advisor.errors import RigfitError
from advisor.format import file_size


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a model's quantization (all shards), resumable and verified",
        description=(
            "Download every file of one quantization into a folder, keeping the repo's paths. Each file is checked "
            "against the Hub's sha256 before it gets its final name. Interrupted downloads resume when the same "
            "command runs again."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="catalog id or Hub repo id (owner/name)")
    parser.add_argument("quant", metavar="QUANT", help="quantization, e.g. Q4_K_M or UD-Q4_K_XL")
    parser.add_argument("--dest", type=Path, default=None, help="folder to download into (default: ./<repo name> here)")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--include-companions", action="store_true", help="also fetch the option's companion files (mmproj ...)"
    )
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from advisor.download.job import (
        CancelToken,
        DownloadRequest,
        DownloadState,
        check_disk_space,
        confirm_files,
        download,
        needs_confirmation,
    )
    from advisor.download.transfer import local_status
    from advisor.model.resolve import resolve_model

    err = sys.stderr
    model = resolve_model(args.model, progress=lambda msg: print(msg, file=err))
    if model.source == "local" or not model.repo:
        raise RigfitError(
            f"{args.model} is a local file: there is nothing to download.",
            hint="Name a catalog id or a Hub repo (owner/name).",
        )
    option = model.option(args.quant)
    dest = args.dest if args.dest is not None else Path.cwd() / model.repo.split("/")[-1]
    request = DownloadRequest.for_option(
        model.repo, model.revision, option, dest, include_companions=args.include_companions
    )
    if needs_confirmation(model.source, request.files):
        print(f"Checking {option.quant}'s files on the Hub ({model.repo})…", file=err)
        wanted = tuple(f.path for f in option.companions) if args.include_companions else ()
        confirmed = confirm_files(model.repo, model.revision, option.quant, option.files, companions=wanted)
        for change in confirmed.changes:
            print(f"Note: {change}", file=err)
        request = replace(request, files=confirmed.files)

    print(f"{model.name}, {option.quant}, from {model.repo} (revision {request.revision}) into {dest}:")
    kept_total = 0
    for target in request.targets():
        kept = local_status(target).kept_bytes
        kept_total += kept
        note = "  (already there)" if kept == target.file.size_bytes else ""
        if 0 < kept < target.file.size_bytes:
            note = f"  ({file_size(kept)} saved earlier: resumes)"
        print(f"  {target.file.path}  {file_size(target.file.size_bytes)}{note}")
    print(f"Total {file_size(request.total_bytes)}; {file_size(request.total_bytes - kept_total)} to fetch.")
    if option.companions and not args.include_companions:
        from advisor.model.companions import companion_kind

        print("Optional files, not included (add --include-companions to fetch them too):")
        for file in option.companions:
            kind = companion_kind(file.path)
            words = f": {kind.title.lower()}. {kind.purpose}" if kind else ""
            print(f"  {file.path}  {file_size(file.size_bytes)}{words}")
    check_disk_space(request)
    if not args.yes and not _confirm("Download these files? [y/N] "):
        print("Nothing downloaded.")
        return 1

    token = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: token.pause())  # Ctrl-C: stop cleanly, keep partials
    bar = _ProgressBar(err)
    try:
        result = download(request, progress=bar, cancel=token)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    if result.state is not DownloadState.DONE:
        print(f"{result.message} Run the same command again to resume.", file=err)
        return 130
    print(result.message)
    return 0


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class _ProgressBar:
    """One redrawn line on a terminal; on a pipe, a line on each new state or message and every few seconds."""

    WIDTH = 28
    PIPE_INTERVAL_S = 5.0

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._last_line = 0.0
        self._last_state = None
        self._last_message = ""
        self._drawn = False

    def __call__(self, p) -> None:  # p: DownloadProgress
        fraction = p.done / p.total if p.total else 1.0
        filled = int(fraction * self.WIDTH)
        rate = f"{file_size(int(p.rate_bps))}/s" if p.rate_bps else ("stalled" if p.rate_bps == 0 else "")
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction * 100:5.1f}%  "
            f"{file_size(p.done)}/{file_size(p.total)}  {rate:>11}  ETA {format_duration(p.eta_s)}  "
            f"file {p.file_index}/{p.file_count}  {p.state.value}"
        )
        now = time.monotonic()
        if self._tty:
            self._stream.write("\r" + line[:160].ljust(100))
            self._drawn = True
        elif (p.state, p.message) != (self._last_state, self._last_message) or (
            now - self._last_line >= self.PIPE_INTERVAL_S
        ):
            self._stream.write(line + (f"  {p.message}" if p.message else "") + "\n")
            self._last_line = now
        self._last_state, self._last_message = p.state, p.message
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
