"""The CLI shell: help, version, and user errors printed without a traceback."""

from __future__ import annotations

import argparse

import pytest

from advisor import cli
from advisor.errors import RigfitError


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert "rigfit" in capsys.readouterr().out


def test_user_error_is_a_message_not_a_traceback(monkeypatch, capsys) -> None:
    def register(subparsers: argparse._SubParsersAction) -> None:
        p = subparsers.add_parser("explode")

        def handler(_args: argparse.Namespace) -> int:
            raise RigfitError("Something the user can fix.", hint="Do this.")

        p.set_defaults(handler=handler)

    real = cli.build_parser

    def build() -> argparse.ArgumentParser:
        parser = real()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        register(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)
    assert cli.main(["explode"]) == 2
    err = capsys.readouterr().err
    assert "Something the user can fix." in err and "Do this." in err and "Traceback" not in err
