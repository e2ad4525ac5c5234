"""The report model: what a hardware/plan report says, independent of its format.

Reports are pasted into public support threads, so identifying data (hostname, user name, home paths) is
left out unless the user asks, and no token can appear: the report is built from ``Hardware`` and ``Plan``
only, and every string is scrubbed of the home folder and of any secret handed in.
"""

from __future__ import annotations

import dataclasses
import enum
import getpass
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import advisor
from advisor.hardware.types import Hardware
from advisor.plan.types import OptionPlan, Plan

REPORT_SCHEMA = "rigfit.report/1"
FORMATS = ("json", "md", "html", "pdf")
_TOKEN_PATTERN = re.compile(r"\bhf_[A-Za-z0-9]{8,}\b")


@dataclass(frozen=True)
class Report:
    hardware: Hardware
    plan: Plan | None
    chosen_quant: str | None
    app_version: str
    generated_at: str  # ISO 8601, UTC
    include_identifying: bool = False

    @property
    def chosen(self) -> OptionPlan | None:
        """The option the report details: the one asked for, else the recommended one."""
        if self.plan is None:
            return None
        quant = self.chosen_quant or self.plan.recommended
        if quant is None:
            return None
        try:
            return self.plan.option(quant)
        except KeyError:
            return None

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan.to_dict() if self.plan else None
        if plan is not None:
            plan.pop("hardware", None)  # the top-level hardware is the one a planner loads back
            plan.pop("machines", None)
        return {
            "schema": REPORT_SCHEMA,
            "app": {"name": "Rigfit", "version": self.app_version},
            "generated_at": self.generated_at,
            "hardware": self.hardware.to_dict(),
            "other_machines": [h.to_dict() for h in (self.plan.hardware[1:] if self.plan else ())],
            "plan": plan,
            "chosen_quant": self.chosen.quant if self.chosen else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def build_report(
    hardware: Hardware,
    plan: Plan | None = None,
    *,
    quant: str | None = None,
    include_identifying: bool = False,
    secrets: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Report:
    """A report for ``hardware`` (and a plan made for it), scrubbed unless identifying data is asked for."""
    scrub = _Scrubber(include_identifying=include_identifying, secrets=secrets)
    if plan is not None:
        plan = scrub.dataclass(plan)
        hardware = plan.hardware[0] if plan.hardware else scrub.dataclass(hardware)
    else:
        hardware = scrub.dataclass(hardware)
    when = (now or datetime.now(UTC)).replace(microsecond=0)
    return Report(
        hardware=hardware,
        plan=plan,
        chosen_quant=quant,
        app_version=advisor.__version__,
        generated_at=when.isoformat(),
        include_identifying=include_identifying,
    )


class _Scrubber:
    """Rebuilds dataclass trees with identifying strings replaced."""

    def __init__(self, *, include_identifying: bool, secrets: tuple[str, ...]) -> None:
        self.include_identifying = include_identifying
        self.secrets = tuple(s for s in secrets if s)
        home = str(Path.home())
        self.homes = [home] if home not in ("/", "") else []
        try:
            self.user = getpass.getuser()
        except Exception:  # no user database entry (containers)
            self.user = os.environ.get("USER") or ""

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, "[token removed]")
        value = _TOKEN_PATTERN.sub("[token removed]", value)
        if self.include_identifying:
            return value
        for home in self.homes:
            value = value.replace(home, "~")
        if self.user and len(self.user) > 2:
            value = re.sub(rf"([/\\])(home|Users)([/\\]){re.escape(self.user)}\b", r"~", value)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, enum.Enum):  # StrEnum values are str too, and must stay members
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, tuple):
            return tuple(self.value(v) for v in value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.dataclass(value)
        return value

    def dataclass(self, obj: Any) -> Any:
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            if f.name == "hostname" and isinstance(obj, Hardware) and not self.include_identifying:
                changes[f.name] = None
                continue
            changes[f.name] = self.value(getattr(obj, f.name))
        return dataclasses.replace(obj, **changes)
