"""Settings: defaults, round trip, versioning, a broken file kept aside, the token never in the file."""

from __future__ import annotations

import json
import sys
import types

import pytest

from advisor import settings as st
from advisor.errors import RigfitError
from tests.fixtures.plans import two_gpu_machine

GiB = 2**30


def test_defaults_when_nothing_saved() -> None:
    assert st.load() == st.Settings()
    assert st.settings_path().parent.name == "rigfit"


def test_round_trip_every_field(tmp_path) -> None:
    s = st.Settings(
        preferences=st.Preferences(
            download_dir=str(tmp_path / "models"),
            kv_type="q8_0",
            flash_attention=True,
            last_model="minimax-m2.7",
            hardware_file="/tmp/hw.json",
            overrides=st.HardwareOverrides(
                ram_total_bytes=128 * GiB, ram_bandwidth_gbps=80.5, gpus=(st.GpuOverride(0, 24 * GiB, 1000.0),)
            ),
        ),
        ui=st.UiState(
            first_run_done=True,
            window_geometry="AdnQywADAAA=",
            pending_downloads=(st.PendingDownload("minimax-m2.7", "UD-Q4_K_M", "/data"),),
            cluster_machines=(st.SavedMachine("/tmp/b.json", "worker1", "10.0.0.2"), st.SavedMachine("/c.json", "c")),
            cluster_link=st.SavedLink("10gbe", 9.4, 0.25),
        ),
    )
    path = st.save(s)
    assert path == st.settings_path()
    data = json.loads(path.read_text())
    assert data["schema"] == "rigfit.settings" and data["version"] == st.SETTINGS_VERSION
    assert st.load() == s


def test_unknown_keys_are_ignored_and_missing_keys_default() -> None:
    st.settings_path().parent.mkdir(parents=True)
    st.settings_path().write_text(
        json.dumps({"schema": "rigfit.settings", "version": 1, "preferences": {"kv_type": "q4_0", "future": 1}})
    )
    loaded = st.load()
    assert loaded.preferences.kv_type == "q4_0"
    assert loaded.ui == st.UiState()


def test_a_file_saved_before_the_cluster_fields_loads_with_everything_it_had() -> None:
    """Settings written before the cluster's machines were remembered: no ``cluster_*`` keys at all."""
    old = {
        "schema": "rigfit.settings",
        "version": 1,
        "preferences": {"kv_type": "q8_0", "last_model": "minimax-m2.7", "hardware_file": "/hw.json"},
        "ui": {
            "first_run_done": True,
            "window_geometry": "AdnQywADAAA=",
            "pending_downloads": [{"model": "minimax-m2.7", "quant": "UD-Q4_K_M", "download_dir": "/data"}],
        },
    }
    st.settings_path().parent.mkdir(parents=True)
    st.settings_path().write_text(json.dumps(old))
    loaded = st.load()
    assert loaded.ui.cluster_machines == () and loaded.ui.cluster_link == st.SavedLink()
    assert loaded.ui.first_run_done and loaded.ui.window_geometry == "AdnQywADAAA="
    assert loaded.ui.pending_downloads == (st.PendingDownload("minimax-m2.7", "UD-Q4_K_M", "/data"),)
    assert (loaded.preferences.kv_type, loaded.preferences.hardware_file) == ("q8_0", "/hw.json")
    assert st.settings_path().exists()  # read as settings, not moved aside as a bad file


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"schema": "other"}', '{"schema": "rigfit.settings", "version": 99}']
)
def test_unreadable_file_is_kept_aside_and_defaults_used(text: str) -> None:
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(text)
    assert st.load() == st.Settings()
    assert path.with_name("settings.json.bad").read_text() == text  # nothing the user had is thrown away


def test_migrations_run_in_order(monkeypatch) -> None:
    monkeypatch.setattr(st, "SETTINGS_VERSION", 2)
    monkeypatch.setitem(st.MIGRATIONS, 1, lambda d: {**d, "preferences": {**d["preferences"], "kv_type": "q8_0"}})
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"schema": "rigfit.settings", "version": 1, "preferences": {"kv_type": "f16"}}))
    assert st.load().preferences.kv_type == "q8_0"


def test_save_into_unwritable_place_is_a_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RigfitError, match="Cannot save the settings"):
        st.save(st.Settings(), blocker / "sub" / "settings.json")


def test_overrides_replace_probed_values_and_mark_user_source() -> None:
    hw = two_gpu_machine()
    fixed = st.apply_overrides(
        hw, st.HardwareOverrides(ram_total_bytes=64 * GiB, ram_bandwidth_gbps=55.0, gpus=(st.GpuOverride(1, 20 * GiB),))
    )
    assert fixed.memory.total_bytes == 64 * GiB
    assert (fixed.memory.bandwidth_gbps, fixed.memory.bandwidth_source) == (55.0, "user")
    assert fixed.gpus[0] == hw.gpus[0]
    assert fixed.gpus[1].vram_total_bytes == 20 * GiB and fixed.gpus[1].bandwidth_gbps == hw.gpus[1].bandwidth_gbps
    assert st.apply_overrides(hw, st.HardwareOverrides()) == hw


def test_plan_options_follow_preferences(tmp_path) -> None:
    s = st.Settings().with_preferences(kv_type="q8_0", flash_attention=True, download_dir=str(tmp_path))
    opts = st.plan_options(s, context=8192)
    assert (opts.kv_type_k, opts.kv_type_v, opts.flash_attention, opts.context) == ("q8_0", "q8_0", True, 8192)
    assert opts.download_dir == str(tmp_path)
    assert st.plan_options(st.Settings()).download_dir == str(st.default_download_dir())


class _MemoryKeyring:
    """An in-memory keyring backend: this machine has no desktop secret service to test against."""

    priority = 1

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}


@pytest.fixture
def fake_keyring(monkeypatch):
    backend = _MemoryKeyring()
    module = types.ModuleType("keyring")
    module.get_keyring = lambda: backend
    module.get_password = lambda s, u: backend.items.get((s, u))
    module.set_password = lambda s, u, p: backend.items.__setitem__((s, u), p)

    def delete(s, u):
        if (s, u) not in backend.items:
            raise RuntimeError("Password not found")
        del backend.items[(s, u)]

    module.delete_password = delete
    monkeypatch.setitem(sys.modules, "keyring", module)
    return backend


def test_token_goes_to_keyring_never_into_settings(fake_keyring) -> None:
    token = "hf_NeverInThePlainFile123"
    assert st.token_store().available
    st.store_token(token)
    st.save(st.Settings().with_preferences(last_model="x"))
    assert st.stored_token() == token
    assert token not in st.settings_path().read_text()
    st.store_token(None)
    assert st.stored_token() is None
    st.store_token("")  # forgetting twice is not an error


def test_without_keyring_user_is_told_to_use_hf_login(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    store = st.token_store()
    assert not store.available and "hf auth login" in store.reason
    assert st.stored_token() is None
    with pytest.raises(RigfitError) as err:
        st.store_token("hf_x")
    assert "hf auth login" in err.value.hint


def test_failing_keyring_backend_counts_as_no_keyring(fake_keyring) -> None:
    fake_keyring.priority = 0  # keyring's "fail" backend has priority 0
    assert not st.token_store().available
