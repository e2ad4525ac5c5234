"""The core functions the app calls, looked up lazily so the window opens before the heavy modules load.

Everything here runs on a worker (``ui.workers``), never on the GUI thread. ``Backend`` is a plain record of
callables: the app uses ``default_backend()``; the screenshot script swaps only the probe (to show a fixed
24 GB GPU machine) and keeps the real catalog and planner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware
from advisor.model.types import Model
from advisor.plan.types import Plan, PlanOptions

#: The catalog model the app offers first (the project's showcase model).
FEATURED_MODEL = "minimax-m2.7"


@dataclass(frozen=True)
class CatalogChoice:
    """One catalog entry as the model picker lists it."""

    id: str
    name: str
    detail: str = ""


def _missing(piece: str, exc: ImportError) -> RigfitError:
    return RigfitError(f"This build of Rigfit has no {piece} ({exc.name or exc}).", hint="Reinstall Rigfit.")


def probe_hardware() -> Hardware:
    try:
        from advisor.hardware.probe import probe
    except ImportError as exc:
        raise _missing("hardware probe", exc) from exc
    return probe()


def catalog_choices() -> list[CatalogChoice]:
    """The bundled catalog, MiniMax M2.7 first, then in the catalog's own order."""
    try:
        from advisor.model.catalog import list_catalog
    except ImportError:
        return []
    from advisor.format import file_size, params

    entries = sorted(list_catalog(), key=lambda e: (e.id != FEATURED_MODEL, e.order, e.name))
    choices = []
    for e in entries:
        size = file_size(e.min_size_bytes)
        if e.max_size_bytes != e.min_size_bytes:
            size = f"{size}–{file_size(e.max_size_bytes)}"
        moe = f", {params(e.active_params)} active" if e.is_moe else ""
        choices.append(CatalogChoice(e.id, e.name, f"{params(e.total_params)} parameters{moe}; {size}"))
    return choices


def resolve(name: str, token: str | None, progress: Callable[[str], None] | None = None) -> Model:
    try:
        from advisor.model.resolve import resolve_model
    except ImportError as exc:
        raise _missing("model reader", exc) from exc
    return resolve_model(name, token=token, progress=progress)


def make_plan(model: Model, hardware: Hardware | Sequence[Hardware], options: PlanOptions) -> Plan:
    try:
        from advisor.plan.planner import plan
    except ImportError as exc:
        raise _missing("planner", exc) from exc
    return plan(model, hardware, options)


@dataclass(frozen=True)
class Backend:
    probe: Callable[[], Hardware] = probe_hardware
    catalog: Callable[[], list[CatalogChoice]] = catalog_choices
    resolve: Callable[..., Model] = resolve
    plan: Callable[[Model, Any, PlanOptions], Plan] = make_plan


def default_backend() -> Backend:
    return Backend()
