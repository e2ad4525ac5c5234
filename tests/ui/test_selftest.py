"""``rigfit --self-test`` on this machine: the window shows the plan, and the user's settings stay untouched."""

from __future__ import annotations

import io
import os

from advisor import settings as st
from ui.main_window import MainWindow
from ui.selftest import run_self_test


def test_self_test_plans_shows_and_leaves_the_users_config_alone(qapp, tmp_path, monkeypatch) -> None:
    users = tmp_path / "users-config"
    monkeypatch.setenv("RIGFIT_CONFIG_DIR", str(users))
    monkeypatch.delenv("RIGFIT_NO_ERROR_DIALOGS", raising=False)
    seen: dict[str, object] = {}
    wizards = []
    monkeypatch.setattr(MainWindow, "open_wizard", lambda self: wizards.append(self))
    real_show_plan = MainWindow.show_plan

    def show_plan(self, plan, model=None):
        seen["config"] = st.config_dir()
        seen["no_dialogs"] = os.environ.get("RIGFIT_NO_ERROR_DIALOGS")
        real_show_plan(self, plan, model)
        seen["rows"] = (self.options_model.rowCount(), len(plan.options))

    monkeypatch.setattr(MainWindow, "show_plan", show_plan)
    out = io.StringIO()
    assert run_self_test(out) == 0, out.getvalue()
    text = out.getvalue()
    assert text.startswith("probe: ") and "plan: UD-Q4_K_M" in text and "self-test passed in" in text
    assert seen["rows"][0] == seen["rows"][1] > 0
    assert seen["config"] != users and seen["no_dialogs"] == "1"
    assert not wizards  # no modal wizard on the "first run" of the empty config
    assert not users.exists()  # window geometry went to the temporary folder, which is gone
    assert not os.path.exists(str(seen["config"]))
    assert os.environ["RIGFIT_CONFIG_DIR"] == str(users) and "RIGFIT_NO_ERROR_DIALOGS" not in os.environ
