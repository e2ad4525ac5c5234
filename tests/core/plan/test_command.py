"""The llama-server command line spells out every setting the plan depends on."""

from __future__ import annotations

import shlex

from advisor.plan.command import llama_server_argv, model_path, shell_command
from advisor.plan.memory import GIB, DeviceSpec, MemoryRequest
from advisor.plan.placement import Layout
from advisor.plan.planner import plan
from advisor.plan.types import PlanOptions
from tests.core.plan.builders import machine, minimax_model, nvidia, shards

CPU = DeviceSpec("CPU", "cpu", 64 * GIB, GIB)
GPU0 = DeviceSpec("CUDA0", "gpu", 24 * GIB, GIB)
GPU1 = DeviceSpec("CUDA1", "gpu", 24 * GIB, GIB)


def _flag(argv, name):
    return argv[argv.index(name) + 1]


def test_first_shard_under_download_dir():
    files = shards("UD-Q4_K_M", 140 * 10**9, 4)
    assert model_path(files, "/data/models") == "/data/models/UD-Q4_K_M/MiniMax-M2.7-UD-Q4_K_M-00001-of-00004.gguf"


def test_moe_split_command():
    layout = Layout((CPU, GPU0, GPU1), 63, n_cpu_moe=20, tensor_split=(22.5, 10.0))
    argv = llama_server_argv(shards("Q8_0", 10, 2), layout, MemoryRequest(context=32768, type_k="q8_0", type_v="q8_0"))
    assert argv[0] == "llama-server"
    assert _flag(argv, "-c") == "32768"
    assert _flag(argv, "-ngl") == "63"
    assert _flag(argv, "--n-cpu-moe") == "20"
    assert _flag(argv, "-ts") == "22.5,10"
    assert _flag(argv, "-fa") == "on"
    assert _flag(argv, "-ctk") == "q8_0" and _flag(argv, "-ctv") == "q8_0"
    assert "--jinja" in argv and "--no-mmap" not in argv and "-sm" not in argv


def test_cpu_only_and_options():
    argv = llama_server_argv(
        shards("Q4", 10, 1),
        Layout((CPU,), 0),
        MemoryRequest(context=4096, flash_attention=False, ubatch=256, mmap=False, parallel=2),
    )
    assert _flag(argv, "-ngl") == "0" and _flag(argv, "-fa") == "off"
    assert _flag(argv, "-ub") == "256" and _flag(argv, "-np") == "2" and "--no-mmap" in argv
    assert "--n-cpu-moe" not in argv and "-ts" not in argv


def test_single_gpu_on_multi_gpu_machine_pins_it():
    argv = llama_server_argv(shards("Q4", 10, 1), Layout((CPU, GPU1), 5, main_gpu=1), MemoryRequest(4096))
    assert _flag(argv, "-sm") == "none" and _flag(argv, "-mg") == "1"


def test_shell_string_round_trips_paths_with_spaces():
    argv = llama_server_argv(shards("Q4", 10, 1), Layout((CPU,), 0), MemoryRequest(4096))
    argv = (*argv[:2], "/My Models/x.gguf", *argv[3:])
    assert shlex.split(shell_command(argv)) == list(argv)


def test_plan_fills_command_and_argv():
    p = plan(minimax_model(), machine(128, gpus=(nvidia(),)), PlanOptions(context=32768, download_dir="/m"))
    o = p.option("UD-Q4_K_M")
    assert shlex.split(o.llama_cpp_command) == list(o.llama_cpp_argv)
    assert _flag(o.llama_cpp_argv, "-m") == "/m/UD-Q4_K_M/MiniMax-M2.7-UD-Q4_K_M-00001-of-00004.gguf"
    assert int(_flag(o.llama_cpp_argv, "--n-cpu-moe")) == o.placement.n_cpu_moe


def test_the_model_path_follows_the_files_and_folder_of_the_download() -> None:
    from advisor.model.types import RepoFile
    from advisor.plan.command import shell_command, with_model_at

    argv = ("llama-server", "-m", "/a/Q8_0/m-Q8_0-00001-of-00005.gguf", "-c", "8192")
    files = (RepoFile("Q8_0/m-Q8_0-00001-of-00006.gguf", 1), RepoFile("Q8_0/m-Q8_0-00002-of-00006.gguf", 1))
    moved = with_model_at(argv, files, "/b")
    assert moved == ("llama-server", "-m", "/b/Q8_0/m-Q8_0-00001-of-00006.gguf", "-c", "8192")
    assert shell_command(with_model_at(("rpc-server", "-p", "1"), files, "/b")) == "rpc-server -p 1"  # no -m
