"""Measured speed: the published llama-bench rows the speed model is fitted to, and this machine's own runs.

Two kinds of measurement feed ``advisor.plan.speed``:

* ``load_bench_rows()`` reads ``resources/calibration/llama_bench.csv`` (one published llama-bench result per
  row, with its source) and turns each row into the ``DeviceWork`` the speed model consumes. The fitting
  script and the accuracy benchmark both use it, so they can never disagree on what a row means.
* ``rigfit calibrate`` measures a model on this machine and stores measured / predicted here, keyed by a
  hardware fingerprint; ``local_scale(hardware)`` returns that factor for later plans on the same machine.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware
from advisor.plan.speed import CPU_CLASSES, DeviceWork, LocalScale, Workload
from advisor.resources import resource_path

#: Percent of published rows kept aside from the fit (a fixed hash of each row decides).
TEST_SHARE = 30
STORE_NAME = "speed-calibration.json"
STORE_SCHEMA = "rigfit.speed-calibration/1"


@dataclass(frozen=True)
class BenchRow:
    """One published measurement, turned into what the speed model consumes."""

    raw: dict[str, str]
    speed_class: str
    works: tuple[DeviceWork, ...]
    workload: Workload
    decode_depth: float  # mean context depth while the tg test ran
    prompt_tokens: int
    prefill_depth: float
    tg: float | None  # measured decode tokens/s
    pp: float | None  # measured prompt tokens/s

    @property
    def key(self) -> str:
        r = self.raw
        parts = ("device", "backend", "n_devices", "model", "quant", "placement", "depth", "source")
        return "|".join(r.get(p, "") for p in parts)

    @property
    def split(self) -> str:
        """'train' or 'test': stable, so adding rows never moves old ones between the two.

        Rows measured on the development machine (``source = local``) are never fitted: they are independent
        truth for ``benchmarks/speed_accuracy.py``.
        """
        if self.raw.get("source") == "local":
            return "local"
        digest = int(hashlib.sha256(self.key.encode()).hexdigest(), 16)
        return "test" if digest % 100 < TEST_SHARE else "train"


def speed_class_of(raw: dict[str, str]) -> str:
    if raw["device_class"] == "apple" and raw["backend"] == "cpu":
        return "apple_cpu"
    return raw["device_class"]


def bench_row(raw: dict[str, str]) -> BenchRow:
    """Turn one CSV row into per-device work: bytes a token reads, bandwidth, peak FLOPS."""
    cls = speed_class_of(raw)
    total = float(raw["total_params"])
    active = float(raw["active_params"])
    bytes_per_param = float(raw["model_size_bytes"]) / total
    # Token embeddings are looked up one row per token; only an untied copy is skipped by decode.
    read_params = active - float(raw.get("untied_embedding_params") or 0)
    kv = int(raw.get("kv_bytes_per_token") or 0)
    n = int(raw.get("n_devices") or 1)
    bw = float(raw["mem_bandwidth_gbps"])
    tflops = float(raw.get("peak_tflops") or 0)
    is_cpu = cls in CPU_CLASSES
    if raw["placement"] == "experts_on_cpu":
        cpu_params = float(raw["cpu_expert_fraction"]) * float(raw["active_expert_params"])
        cpu_class = raw.get("cpu_class") or "desktop_cpu"
        works: tuple[DeviceWork, ...] = (
            DeviceWork(cls, bw, tflops, int(bytes_per_param * (read_params - cpu_params)), kv),
            DeviceWork(cpu_class, float(raw["cpu_bandwidth_gbps"]), 1.0, int(bytes_per_param * cpu_params), 0, 0, True),
        )
    elif is_cpu:  # one CPU device (several sockets: their summed bandwidth, as the CSV states it)
        works = (DeviceWork(cls, bw, tflops, int(bytes_per_param * read_params), kv, 0, True),)
    else:  # layer split: each GPU reads its share of the layers
        per_device = int(bytes_per_param * read_params / n)
        works = tuple(DeviceWork(cls, bw, tflops, per_device, kv // n) for _ in range(n))
    n_gen = int(raw.get("n_gen") or 0) or 128
    n_prompt = int(raw.get("n_prompt") or 0) or 512
    depth = float(raw.get("depth") or 0)
    workload = Workload(int(active), float(kv) * float(raw.get("gqa_ratio") or 1))
    tg = float(raw["tg_tps"]) if raw.get("tg_tps") else None
    pp = float(raw["pp_tps"]) if raw.get("pp_tps") else None
    return BenchRow(raw, cls, works, workload, depth + n_gen / 2, n_prompt, depth, tg, pp)


def load_bench_rows(path: Path | None = None) -> list[BenchRow]:
    path = path or resource_path("calibration", "llama_bench.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        return [bench_row(raw) for raw in csv.DictReader(fh)]


# ------------------------------------------------------------------------------------ this machine's runs


@dataclass(frozen=True)
class LocalRun:
    """One ``rigfit calibrate`` measurement."""

    fingerprint: str
    model: str
    measured_tg: float
    predicted_tg: float
    measured_pp: float | None = None
    predicted_pp: float | None = None
    llama_cpp_build: str | None = None
    measured_at: str | None = None

    @property
    def scale(self) -> LocalScale:
        pp_factor = None
        if self.measured_pp and self.predicted_pp:
            pp_factor = self.measured_pp / self.predicted_pp
        return LocalScale(
            decode_factor=self.measured_tg / self.predicted_tg,
            prefill_factor=pp_factor,
            label=f"your measured run of {self.model}",
        )


def hardware_fingerprint(hardware: Hardware) -> str:
    """A stable id for 'this machine as the speed model sees it': CPU, RAM size, GPUs. No hostname."""
    gib = round(hardware.memory.total_bytes / 2**30)
    gpus = ",".join(f"{g.vendor}:{g.name}:{round((g.vram_total_bytes or 0) / 2**30)}" for g in hardware.gpus)
    text = f"{hardware.cpu.name}|{hardware.cpu.physical_cores}|{gib}GiB|{gpus}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def store_path() -> Path:
    """Where measured runs live: the per-user data folder (platformdirs), never the install folder."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("rigfit", appauthor=False)) / STORE_NAME


def _read_store(path: Path) -> dict:
    if not path.exists():
        return {"schema": STORE_SCHEMA, "machines": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RigfitError(
            f"The speed calibration file {path} cannot be read: {exc}",
            hint="Delete it and run `rigfit calibrate MODEL_FILE` again.",
        ) from exc
    if not isinstance(data, dict) or data.get("schema") != STORE_SCHEMA or not isinstance(data.get("machines"), dict):
        raise RigfitError(
            f"The speed calibration file {path} is not a {STORE_SCHEMA} file.",
            hint="Delete it and run `rigfit calibrate MODEL_FILE` again.",
        )
    return data


def save_local_run(run: LocalRun, path: Path | None = None) -> Path:
    """Record a run (replacing any earlier one for the same machine); written atomically."""
    path = path or store_path()
    data = _read_store(path)
    data["machines"][run.fingerprint] = asdict(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_local_run(hardware: Hardware, path: Path | None = None) -> LocalRun | None:
    entry = _read_store(path or store_path())["machines"].get(hardware_fingerprint(hardware))
    if not isinstance(entry, dict):
        return None
    try:
        return LocalRun(**entry)
    except TypeError:
        return None


def local_scale(hardware: Hardware, path: Path | None = None) -> LocalScale | None:
    """The factor later estimates on this machine are scaled by, or None when it was never calibrated."""
    run = load_local_run(hardware, path)
    return run.scale if run else None
