"""GUI test helpers: a fake machine, a backend with hand-built plans, and no pool work left behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest

from advisor.hardware.types import Cpu, Gpu, Hardware, Memory
from advisor.model.types import Model, ModelFacts
from advisor.plan.types import Plan, PlanOptions
from tests.fixtures.plans import minimax_plan, two_gpu_machine
from ui.backend import Backend, CatalogChoice

GiB = 2**30


def rig_24gb() -> Hardware:
    """The screenshot machine: one 24 GB GPU and 128 GB of RAM."""
    return Hardware(
        cpu=Cpu(name="AMD Ryzen 9 7950X", physical_cores=16, logical_cores=32, features=("avx2", "avx512f")),
        memory=Memory(total_bytes=128 * GiB, bandwidth_gbps=70.0, bandwidth_source="measured"),
        gpus=(
            Gpu(
                vendor="nvidia",
                name="NVIDIA GeForce RTX 4090",
                vram_total_bytes=24 * GiB,
                bandwidth_gbps=1008.0,
                bandwidth_source="spec",
                compute_capability="8.9",
                driver_version="580.65.06",
                cuda_driver_version="13.0",
            ),
        ),
        os="linux",
    )


def minimax_model() -> Model:
    facts = ModelFacts("minimax-m2", 62, 196608, 3072, 200064, (48,) * 62, (8,) * 62, 128, 128)
    return Model("minimax-m2.7", "MiniMax M2.7", "catalog", facts, (), repo="unsloth/MiniMax-M2.7-GGUF")


@dataclass
class FakeBackend:
    """Records which thread each call ran on; plans are hand-built (the planner is tested on its own)."""

    hardware: Hardware = field(default_factory=two_gpu_machine)
    calls: list[tuple[str, str, object]] = field(default_factory=list)
    gate: threading.Event | None = None  # when set, plan() waits for it (to test stale results)
    model: Model = field(default_factory=lambda: minimax_model())  # what resolve() returns

    def probe(self) -> Hardware:
        self.calls.append(("probe", threading.current_thread().name, None))
        return self.hardware

    def catalog(self) -> list[CatalogChoice]:
        return [CatalogChoice("minimax-m2.7", "MiniMax M2.7", "229 B parameters"), CatalogChoice("x", "Other", "")]

    def resolve(self, name: str, token: str | None, progress=None) -> Model:
        self.calls.append(("resolve", threading.current_thread().name, name))
        if progress:
            progress(f"Reading {name}")
        return self.model

    def plan(self, model: Model, hardware: Hardware, options: PlanOptions) -> Plan:
        self.calls.append(("plan", threading.current_thread().name, options))
        if self.gate is not None:
            self.gate.wait(10)
        plan = minimax_plan(hardware)
        if options.context:
            plan = replace(
                plan,
                context=options.context,
                request=options,
                options=tuple(replace(o, context=options.context) for o in plan.options),
            )
        return replace(plan, request=options)

    def as_backend(self) -> Backend:
        return Backend(probe=self.probe, catalog=self.catalog, resolve=self.resolve, plan=self.plan)


def wait_task(qtbot, task, timeout: int = 10_000) -> None:
    """Wait until ``task`` has ended (its own ``ended`` handler runs first, so nothing is missed)."""
    from ui import workers

    qtbot.waitUntil(lambda: task not in workers.running_tasks(), timeout=timeout)


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


@pytest.fixture(autouse=True)
def _no_worker_left(qapp) -> Iterator[None]:
    yield
    from ui import errors, workers

    workers.cancel_all()
    assert workers.wait_for_all(15_000), "a worker was still running after the test"
    qapp.processEvents()
    for dialog in errors.open_dialogs():
        dialog.close()
