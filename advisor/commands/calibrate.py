"""``rigfit calibrate MODEL_FILE``: measure this machine with llama-bench and scale later speed estimates by it.

The published calibration predicts a class of machines; one real run tells us where this machine sits in that
class (thermal limits, memory timings, a slower build). The command runs a short llama-bench (pp512, tg128),
predicts the same two numbers with the speed model, and stores measured / predicted for this machine
(``advisor.plan.calibration``). Plans made here later pass that factor to ``estimate_speed`` and say so in
``estimate_basis``. Without llama-bench on PATH it stops with one clear error and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware, load_hardware_file
from advisor.plan.calibration import LocalRun, hardware_fingerprint, save_local_run
from advisor.plan.speed import (
    BENCH_GEN_TOKENS,
    DeviceWork,
    SpeedModel,
    Workload,
    cpu_peak_tflops,
    cpu_speed_class,
    decode_seconds_per_token,
    default_speed_model,
    gpu_speed_class,
    prefill_seconds_per_token,
)

BENCH_TIMEOUT_S = 1800


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="measure a model with llama-bench and scale this machine's speed estimates by it",
        description="Run a short llama-bench (pp512, tg128) on a downloaded GGUF, compare it with Rigfit's estimate "
        "and store the ratio; later plans on this machine are scaled by it and say so.",
    )
    parser.add_argument("model_file", help="a GGUF model file (first shard of a split model)")
    parser.add_argument("--llama-bench", dest="llama_bench", help="path to llama-bench (default: found on PATH)")
    parser.add_argument("--ngl", type=int, default=None, help="layers on the GPU (default: all when it fits, else 0)")
    parser.add_argument("--repetitions", type=int, default=2, help="llama-bench -r (default 2)")
    parser.add_argument("--hardware", help="a saved hardware file instead of probing this machine")
    parser.set_defaults(handler=run)


def find_llama_bench(explicit: str | None = None) -> str:
    """The llama-bench executable, or a RigfitError that says how to get one."""
    if explicit:
        if Path(explicit).is_file():
            return explicit
        raise RigfitError(f"llama-bench was not found at {explicit}.", hint="Pass the path of the llama-bench binary.")
    found = shutil.which("llama-bench")
    if not found:
        raise RigfitError(
            "llama-bench was not found on PATH, so rigfit cannot measure this machine.",
            hint="Install llama.cpp (its release archives include llama-bench) and put it on PATH, "
            "or pass --llama-bench /path/to/llama-bench. Estimates keep using the published calibration.",
        )
    return found


def _this_machine(progress: Callable[[str], None] = print) -> Hardware:
    from advisor.hardware.probe import probe

    return probe(progress=progress)


def gguf_workload(path: Path) -> tuple[Workload, int]:
    """Active parameters, attention FLOPs per context token and decode-read bytes, from the GGUF header."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise RigfitError(f"{path} is not a readable GGUF file: {exc}") from exc

    def field(key: str) -> int | None:
        f = reader.fields.get(key)
        if f is None or not f.data:
            return None
        value = f.parts[f.data[0]]
        return int(value[0])

    arch_field = reader.fields.get("general.architecture")
    arch = bytes(arch_field.parts[arch_field.data[0]]).decode() if arch_field else "llama"
    experts = field(f"{arch}.expert_count") or 0
    used = field(f"{arch}.expert_used_count") or experts
    names = {t.name for t in reader.tensors}
    tied = "output.weight" not in names
    read_bytes = 0
    active = 0
    for tensor in reader.tensors:
        share = used / experts if experts and "_exps" in tensor.name else 1.0
        if tensor.name == "token_embd.weight" and not tied:
            continue  # one row per token: negligible
        read_bytes += int(tensor.n_bytes * share)
        active += int(int(tensor.n_elements) * share)
    layers = field(f"{arch}.block_count") or 0
    heads = field(f"{arch}.attention.head_count") or 0
    embd = field(f"{arch}.embedding_length") or 0
    head_dim = field(f"{arch}.attention.key_length") or (embd // heads if heads else 0)
    return Workload(active, 4.0 * layers * heads * head_dim), read_bytes


def planned_works(hardware: Hardware, read_bytes: int, ngl: int | None, model: SpeedModel) -> tuple[DeviceWork, ...]:
    """Where llama-bench will run the model: the first GPU when it fits (or -ngl says so), else the CPU."""
    gpu = hardware.gpus[0] if hardware.gpus else None
    fits = gpu is not None and (gpu.unified_memory or (gpu.vram_total_bytes or 0) > read_bytes * 1.1)
    if gpu is not None and ((ngl is None and fits) or (ngl or 0) > 0):
        cls = gpu_speed_class(gpu, "unified" if gpu.unified_memory else "gpu")
        params = model.params(cls)
        return (
            DeviceWork(
                cls,
                gpu.bandwidth_gbps or params.default_bandwidth_gbps,
                gpu.fp16_tflops or params.guess_tflops(gpu.bandwidth_gbps),
                read_bytes,
            ),
        )
    cls = cpu_speed_class(hardware.cpu, hardware.os)
    bandwidth = hardware.memory.bandwidth_gbps or model.params(cls).default_bandwidth_gbps
    return (DeviceWork(cls, bandwidth, cpu_peak_tflops(hardware.cpu), read_bytes, 0, 0, True),)


def parse_llama_bench_json(text: str) -> tuple[float | None, float | None, str | None]:
    """(prompt t/s, decode t/s, build) from ``llama-bench -o json`` output."""
    try:
        results = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RigfitError(f"llama-bench printed something that is not JSON: {exc}") from exc
    pp = tg = None
    build = None
    for entry in results if isinstance(results, list) else []:
        build = entry.get("build_commit") or build
        if entry.get("n_gen", 0) == 0 and entry.get("n_prompt", 0) > 0:
            pp = float(entry["avg_ts"])
        elif entry.get("n_gen", 0) > 0 and entry.get("n_prompt", 0) == 0:
            tg = float(entry["avg_ts"])
    return pp, tg, build


def calibrate(
    model_file: Path,
    hardware: Hardware,
    llama_bench: str,
    *,
    ngl: int | None = None,
    repetitions: int = 2,
    model: SpeedModel | None = None,
    progress: Callable[[str], None] = print,
    store: Path | None = None,
) -> LocalRun:
    """Run llama-bench on ``model_file``, compare with the prediction, store and return the run."""
    if not model_file.is_file():
        raise RigfitError(
            f"The model file {model_file} does not exist.", hint="Give the path of a downloaded .gguf file."
        )
    model = model or default_speed_model()
    workload, read_bytes = gguf_workload(model_file)
    works = planned_works(hardware, read_bytes, ngl, model)
    layers = 99 if not works[0].is_host else 0
    argv = [
        llama_bench,
        "-m",
        str(model_file),
        "-p",
        "512",
        "-n",
        str(BENCH_GEN_TOKENS),
        "-r",
        str(max(1, repetitions)),
        "-ngl",
        str(ngl if ngl is not None else layers),
        "-o",
        "json",
    ]
    progress(f"Running {' '.join(argv)}")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RigfitError(f"llama-bench could not be run: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RigfitError(f"llama-bench failed (exit code {done.returncode}): {' / '.join(tail)}")
    pp, tg, build = parse_llama_bench_json(done.stdout)
    if not tg:
        raise RigfitError("llama-bench reported no tg128 result.", hint="Run it by hand to see what went wrong.")
    predicted_tg = 1.0 / decode_seconds_per_token(works, model, BENCH_GEN_TOKENS / 2)
    predicted_pp = 1.0 / prefill_seconds_per_token(works, workload, model)
    run = LocalRun(
        fingerprint=hardware_fingerprint(hardware),
        model=model_file.name,
        measured_tg=round(tg, 3),
        predicted_tg=round(predicted_tg, 3),
        measured_pp=round(pp, 3) if pp else None,
        predicted_pp=round(predicted_pp, 3),
        llama_cpp_build=build,
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path = save_local_run(run, store)
    progress(
        f"Decode: measured {tg:.1f} t/s, the published calibration predicted {predicted_tg:.1f} t/s "
        f"(factor x{run.scale.decode_factor:.2f})."
    )
    if pp:
        progress(f"Prompt: measured {pp:.1f} t/s, predicted {predicted_pp:.1f} t/s.")
    progress(f"Saved to {path}; later plans on this machine are scaled by it.")
    return run


def run(args: argparse.Namespace) -> int:
    exe = find_llama_bench(args.llama_bench)
    hardware = load_hardware_file(args.hardware) if args.hardware else _this_machine()
    calibrate(Path(args.model_file), hardware, exe, ngl=args.ngl, repetitions=args.repetitions)
    return 0
