"""Reading the version strings that decide CUDA risks: nvcc, CUDA driver, NVIDIA driver, llama.cpp build.

Toolkit versions come in two spellings. A release is "13.2.1"; nvcc itself prints its component version,
"V13.2.78", and a build tag "cuda_13.2.r13.2/compiler.36424714_0". Only a table (in resources/rules/cuda.toml)
can turn a component version into its release, so anything the table does not know keeps just major.minor and
says so: a rule can then tell "13.2.1" (known bad) from "13.2, patch unknown" (maybe bad).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, total_ordering

#: A third number at or above this is a component build number ("13.2.78"), not a patch release ("13.2.1").
COMPONENT_BUILD_MIN = 10


@total_ordering
@dataclass(frozen=True)
class Version:
    """Dotted numbers; missing trailing parts compare as 0, and ``precision`` says how many were known."""

    parts: tuple[int, ...]

    @property
    def precision(self) -> int:
        return len(self.parts)

    @property
    def major(self) -> int:
        return self.parts[0] if self.parts else 0

    @property
    def minor(self) -> int:
        return self.parts[1] if len(self.parts) > 1 else 0

    def _padded(self, n: int) -> tuple[int, ...]:
        return self.parts + (0,) * (n - len(self.parts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        n = max(len(self.parts), len(other.parts))
        return self._padded(n) == other._padded(n)

    def __lt__(self, other: Version) -> bool:
        n = max(len(self.parts), len(other.parts))
        return self._padded(n) < other._padded(n)

    def __hash__(self) -> int:
        parts = list(self.parts)
        while parts and parts[-1] == 0:
            parts.pop()
        return hash(tuple(parts))

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)


_DOTTED = re.compile(r"(\d+(?:\.\d+)*)")


def parse_version(text: str | int | float | Version | None) -> Version | None:
    """The first dotted number in ``text``: "12.4" -> 12.4, "580.65.06" -> 580.65.6; None if there is none."""
    if text is None:
        return None
    if isinstance(text, Version):
        return text
    return _parse_dotted(str(text))


@lru_cache(maxsize=1024)
def _parse_dotted(text: str) -> Version | None:
    m = _DOTTED.search(text)
    if not m:
        return None
    return Version(tuple(int(p) for p in m.group(1).split(".")))


_NVCC_COMPONENT = re.compile(r"\bV(\d+\.\d+\.\d+)\b")
_NVCC_RELEASE = re.compile(r"release\s+(\d+\.\d+)", re.IGNORECASE)
_NVCC_BUILD_TAG = re.compile(r"cuda_(\d+\.\d+)\.r\d+\.\d+")


def parse_cuda_toolkit(text: str | None, component_releases: Mapping[str, str] | None = None) -> Version | None:
    """The CUDA toolkit *release* a string names.

    Accepts a release ("13.2.1"), a component version ("13.2.78", "V13.2.78"), a build tag
    ("Build cuda_13.2.r13.2/compiler.36424714_0") or a whole ``nvcc --version`` output. Component versions
    found in ``component_releases`` become their release; others keep major.minor only.
    """
    if not text:
        return None
    table = component_releases or {}
    raw = str(text).strip()
    component = _NVCC_COMPONENT.search(raw)
    if component:
        return _from_three_parts(component.group(1), table)
    release = _NVCC_RELEASE.search(raw) or _NVCC_BUILD_TAG.search(raw)
    if release:
        return parse_version(release.group(1))
    version = parse_version(raw)
    if version is None:
        return None
    if version.precision >= 3:
        return _from_three_parts(".".join(str(p) for p in version.parts[:3]), table)
    return version


def _from_three_parts(dotted: str, table: Mapping[str, str]) -> Version | None:
    if dotted in table:
        return parse_version(table[dotted])
    version = parse_version(dotted)
    if version is None:
        return None
    if version.parts[2] >= COMPONENT_BUILD_MIN:
        return Version(version.parts[:2])  # a component build we cannot map: the patch release is unknown
    return version


def parse_cuda_driver_version(value: str | int | None) -> Version | None:
    """The newest CUDA a driver supports: "12.4", or NVML/cuDriverGetVersion's 1000*major + 10*minor (12040)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit() and len(value.strip()) >= 4):
        number = int(value)
        return Version((number // 1000, (number % 1000) // 10))
    return parse_version(value)


def parse_driver_major(value: str | None) -> int | None:
    """NVIDIA driver branch: "580.65.06" -> 580."""
    version = parse_version(value)
    return version.major if version else None


_BUILD_NUMBER = re.compile(r"\bb?(\d{3,6})\b")


def parse_llama_build(value: str | int | None) -> int | None:
    """llama.cpp release number: "b8746" -> 8746; "version: 8746 (d6f3030)" -> 8746."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    m = _BUILD_NUMBER.search(str(value))
    return int(m.group(1)) if m else None
