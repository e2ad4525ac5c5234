"""The core must never import Qt: the CLI and report run where PySide6 is absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_advisor_module_imports_with_pyside6_blocked() -> None:
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        class BlockQt:
            def find_spec(self, name, path=None, target=None):
                if name == "PySide6" or name.startswith(("PySide6.", "shiboken6", "PyQt")):
                    raise ImportError(f"Qt import blocked in the core: {name}")
                return None
        sys.meta_path.insert(0, BlockQt())
        import advisor
        names = [m.name for m in pkgutil.walk_packages(advisor.__path__, "advisor.")]
        names = [n for n in names if not n.endswith("__main__")]
        for name in names:
            importlib.import_module(name)
        print(len(names))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 10  # the walk really found the core's modules


def test_the_block_really_blocks() -> None:
    """Guard against a test that cannot fail: the same blocker stops a real Qt import."""
    script = textwrap.dedent(
        """
        import sys
        class BlockQt:
            def find_spec(self, name, path=None, target=None):
                if name == "PySide6" or name.startswith("PySide6."):
                    raise ImportError("blocked")
                return None
        sys.meta_path.insert(0, BlockQt())
        import ui.app
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "blocked" in result.stderr
