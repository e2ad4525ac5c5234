"""The exact ``llama-server`` command line for a planned option, as argv and as one shell-quoted string.

Every setting the plan depends on is spelled out (context, layers, experts, split, flash attention, cache types,
parallel slots), so llama.cpp's ``--fit`` has nothing left to change and the run matches the plan.
"""

from __future__ import annotations

import shlex
from pathlib import PurePath

from advisor.model.types import RepoFile
from advisor.plan.memory import MemoryRequest
from advisor.plan.placement import Layout

DEFAULT_BINARY = "llama-server"


def model_path(files: tuple[RepoFile, ...], download_dir: str | None) -> str:
    """Where the first shard will be after download: llama.cpp loads the others from beside it."""
    first = files[0].path if files else "model.gguf"
    return str(PurePath(download_dir or ".") / first)


def _number(value: float) -> str:
    return f"{value:g}"


def llama_server_argv(
    files: tuple[RepoFile, ...],
    layout: Layout,
    request: MemoryRequest,
    *,
    download_dir: str | None = None,
    binary: str = DEFAULT_BINARY,
) -> tuple[str, ...]:
    argv = [binary, "-m", model_path(files, download_dir), "-c", str(request.context)]
    has_gpu = len(layout.devices) > 1
    argv += ["-ngl", str(layout.n_gpu_layers if has_gpu else 0)]
    if layout.n_cpu_moe:
        argv += ["--n-cpu-moe", str(layout.n_cpu_moe)]
    if layout.tensor_split:
        argv += ["-ts", ",".join(_number(x) for x in layout.tensor_split)]
    if layout.rpc_servers:
        argv += ["--rpc", ",".join(layout.rpc_servers)]
    if layout.main_gpu is not None:
        argv += ["-sm", "none", "-mg", str(layout.main_gpu)]
    argv += ["-fa", "on" if request.flash_attention else "off"]
    argv += ["-ctk", request.type_k, "-ctv", request.type_v]
    if request.ubatch != 512:
        argv += ["-ub", str(request.ubatch)]
    if request.batch != 2048:
        argv += ["-b", str(request.batch)]
    argv += ["-np", str(max(1, request.parallel))]
    if not request.mmap:
        argv.append("--no-mmap")
    if not request.kv_offload:
        argv.append("-nkvo")
    if not request.repack:
        argv.append("--no-repack")
    argv.append("--jinja")
    return tuple(argv)


def shell_command(argv: tuple[str, ...]) -> str:
    return shlex.join(argv)


def with_model_at(argv: tuple[str, ...], files: tuple[RepoFile, ...], download_dir: str | None) -> tuple[str, ...]:
    """The same command with ``-m`` naming where the files really are.

    The plan names the first shard as the catalog lists it, in the folder from Settings; the download may have
    gone to another folder, and the Hub's list can split a catalog quant differently.
    """
    out = list(argv)
    if "-m" in out[:-1]:
        out[out.index("-m") + 1] = model_path(files, download_dir)
    return tuple(out)


def rpc_server_argv(host: str, port: int) -> tuple[str, ...]:
    """The worker's side: expose its devices on ``host:port`` with the local tensor cache on (``-c``)."""
    return ("rpc-server", "-H", host, "-p", str(port), "-c")


__all__ = ["DEFAULT_BINARY", "llama_server_argv", "model_path", "rpc_server_argv", "shell_command", "with_model_at"]
