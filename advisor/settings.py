"""The app's settings: typed, versioned, one JSON file in the platform's config folder.

User preferences (download folder, KV cache type, flash attention, hardware corrections) and UI state (window
geometry, whether the setup wizard ran) are kept apart so a reset of one never loses the other. The Hub token
is never written here: it goes to the platform keyring when the ``keyring`` package and a backend work, and
otherwise the user is pointed at ``hf auth login``, which the Hub client reads by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from advisor.errors import RigfitError
from advisor.hardware.types import Hardware
from advisor.plan.types import PlanOptions
from advisor.serialize import SchemaError, from_dict, to_dict

SETTINGS_SCHEMA = "rigfit.settings"
#: Bump on a rename or removal (and add a migration); adding a field with a default needs no bump.
SETTINGS_VERSION = 1
KV_TYPES = ("f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl", "f32")
KEYRING_SERVICE = "rigfit"
KEYRING_USER = "huggingface-token"


@dataclass(frozen=True)
class GpuOverride:
    """A user's correction for one GPU (by its index), e.g. VRAM the driver under-reports."""

    index: int
    vram_total_bytes: int | None = None
    bandwidth_gbps: float | None = None


@dataclass(frozen=True)
class HardwareOverrides:
    """Corrections the user typed on the wizard's hardware page; None keeps what the probe found."""

    ram_total_bytes: int | None = None
    ram_bandwidth_gbps: float | None = None
    gpus: tuple[GpuOverride, ...] = ()

    @property
    def empty(self) -> bool:
        return self.ram_total_bytes is None and self.ram_bandwidth_gbps is None and not self.gpus


@dataclass(frozen=True)
class Preferences:
    download_dir: str | None = None  # None: the platform's user data folder (see default_download_dir)
    kv_type: str = "f16"
    flash_attention: bool | None = None  # None: llama.cpp's auto
    last_model: str | None = None
    hardware_file: str | None = None  # plan for this saved machine instead of probing
    overrides: HardwareOverrides = field(default_factory=HardwareOverrides)


@dataclass(frozen=True)
class PendingDownload:
    """A download the user paused or that the app quit during; offered again on the next launch."""

    model: str
    quant: str
    download_dir: str
    companions: tuple[str, ...] = ()  # repo paths of the optional files the user ticked


@dataclass(frozen=True)
class SavedMachine:
    """Another machine of the RPC cluster: its hardware file, read again at each launch, and the user's names."""

    path: str
    label: str
    address: str | None = None


@dataclass(frozen=True)
class SavedLink:
    """The cluster's link: a preset from ``resources/specs/network.toml`` (None: its default) and measured figures."""

    name: str | None = None
    gbps: float | None = None
    latency_ms: float | None = None


@dataclass(frozen=True)
class UiState:
    first_run_done: bool = False
    window_geometry: str | None = None  # QMainWindow.saveGeometry() bytes, base64
    window_state: str | None = None  # QMainWindow.saveState() bytes, base64
    pending_downloads: tuple[PendingDownload, ...] = ()
    cluster_machines: tuple[SavedMachine, ...] = ()  # "Add machine…" in the main window, in the order added
    cluster_link: SavedLink = field(default_factory=SavedLink)


@dataclass(frozen=True)
class Settings:
    preferences: Preferences = field(default_factory=Preferences)
    ui: UiState = field(default_factory=UiState)

    def with_preferences(self, **changes: Any) -> Settings:
        return replace(self, preferences=replace(self.preferences, **changes))

    def with_ui(self, **changes: Any) -> Settings:
        return replace(self, ui=replace(self.ui, **changes))


def config_dir() -> Path:
    """``RIGFIT_CONFIG_DIR`` (tests, smoke runs) or the platform's user config folder."""
    override = os.environ.get("RIGFIT_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("rigfit", appauthor=False))


def settings_path() -> Path:
    return config_dir() / "settings.json"


def default_download_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("rigfit", appauthor=False)) / "models"


def download_dir(settings: Settings) -> Path:
    return (
        Path(settings.preferences.download_dir).expanduser()
        if settings.preferences.download_dir
        else (default_download_dir())
    )


# Ordered migrations: MIGRATIONS[n] turns a version-n dict into a version n+1 dict.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("version", SETTINGS_VERSION)
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise SchemaError(f"settings version {version!r} is newer than this Rigfit understands")
    while version < SETTINGS_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    return data


def load(path: Path | None = None) -> Settings:
    """The saved settings, or defaults when none exist.

    A file that cannot be read as settings is moved aside to ``settings.json.bad`` (never deleted, so nothing
    the user set is lost for good) and the app starts with defaults.
    """
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError:
        return Settings()
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("schema") != SETTINGS_SCHEMA:
            raise SchemaError("not a Rigfit settings file")
        return from_dict(Settings, _migrate(data))
    except (ValueError, SchemaError, TypeError):
        bad = path.with_name(path.name + ".bad")
        with contextlib.suppress(OSError):
            path.replace(bad)
        return Settings()


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (a crash mid-write leaves the old file), creating the folder when needed."""
    path = path or settings_path()
    data = {"schema": SETTINGS_SCHEMA, "version": SETTINGS_VERSION, **to_dict(settings)}
    tmp = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise RigfitError(
            f"Cannot save the settings to {path}: {exc.strerror or exc}",
            hint="Check that the folder is writable; your changes apply until Rigfit closes.",
        ) from exc
    return path


# --- the Hub token -------------------------------------------------------------------------------------------

NO_KEYRING_HINT = (
    "This system has no usable keyring, so Rigfit does not store the token itself. "
    "Run `hf auth login` in a terminal instead: the Hub client reads that login by itself."
)


@dataclass(frozen=True)
class TokenStore:
    """Whether the keyring can hold the token, and if not, what to tell the user."""

    available: bool
    reason: str | None = None


def _keyring() -> Any | None:
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def token_store() -> TokenStore:
    """Check for a working keyring: the package must import and its backend must not be the 'fail' one."""
    keyring = _keyring()
    if keyring is None:
        return TokenStore(False, NO_KEYRING_HINT)
    try:
        backend = keyring.get_keyring()
        priority = getattr(backend, "priority", 1)
        if priority is not None and float(priority) <= 0:
            return TokenStore(False, NO_KEYRING_HINT)
    except Exception:
        return TokenStore(False, NO_KEYRING_HINT)
    return TokenStore(True)


def stored_token() -> str | None:
    """The token saved in the keyring, or None (no keyring, nothing saved, or the keyring is locked)."""
    if not token_store().available:
        return None
    try:
        return _keyring().get_password(KEYRING_SERVICE, KEYRING_USER) or None
    except Exception:
        return None


def store_token(token: str | None) -> None:
    """Save (or with None/empty, forget) the Hub token in the keyring; never in the settings file."""
    store = token_store()
    if not store.available:
        raise RigfitError("Cannot store the Hub token on this system.", hint=store.reason)
    keyring = _keyring()
    try:
        if token:
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, token.strip())
        else:
            try:
                keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
            except Exception as exc:  # nothing stored is fine; other failures are reported below
                if "not found" not in str(exc).lower() and type(exc).__name__ != "PasswordDeleteError":
                    raise
    except RigfitError:
        raise
    except Exception as exc:
        raise RigfitError(f"The keyring refused the Hub token: {exc}", hint=NO_KEYRING_HINT) from exc


# --- settings applied to planning ----------------------------------------------------------------------------


def apply_overrides(hardware: Hardware, overrides: HardwareOverrides) -> Hardware:
    """The probed machine with the user's corrections; corrected bandwidths are marked as the user's."""
    memory = hardware.memory
    if overrides.ram_total_bytes is not None:
        memory = replace(memory, total_bytes=overrides.ram_total_bytes)
    if overrides.ram_bandwidth_gbps is not None:
        memory = replace(memory, bandwidth_gbps=overrides.ram_bandwidth_gbps, bandwidth_source="user")
    by_index = {o.index: o for o in overrides.gpus}
    gpus = []
    for gpu in hardware.gpus:
        fix = by_index.get(gpu.index)
        if fix is not None and fix.vram_total_bytes is not None:
            gpu = replace(gpu, vram_total_bytes=fix.vram_total_bytes, vram_free_bytes=None)
        if fix is not None and fix.bandwidth_gbps is not None:
            gpu = replace(gpu, bandwidth_gbps=fix.bandwidth_gbps, bandwidth_source="user")
        gpus.append(gpu)
    return replace(hardware, memory=memory, gpus=tuple(gpus))


def plan_options(settings: Settings, *, context: int | None = None) -> PlanOptions:
    """The planner request the user's preferences stand for (one place, so window and wizard agree)."""
    prefs = settings.preferences
    return PlanOptions(
        context=context,
        kv_type_k=prefs.kv_type,
        kv_type_v=prefs.kv_type,
        flash_attention=prefs.flash_attention,
        download_dir=str(download_dir(settings)),
    )
