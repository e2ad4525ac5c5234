"""The ``rigfit`` command: with no arguments it opens the app; subcommands run headless.

Each subcommand lives in ``advisor/commands/<name>.py`` and exposes ``register(subparsers)``; they are found
here automatically so that adding a command never touches this file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import advisor
import advisor.commands
from advisor.errors import RigfitError


def _command_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(advisor.commands.__path__) if not m.name.startswith("_")]
    return sorted(names)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rigfit",
        description="Will this model run on my machine? Run without arguments to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"rigfit {advisor.__version__}")
    parser.add_argument(
        "--self-test", action="store_true", help="open the app offscreen, probe, plan MiniMax M2.7, exit 0 if all works"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        module = importlib.import_module(f"advisor.commands.{name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def _open_app(argv: Sequence[str]) -> int:
    try:
        from ui.app import main as gui_main
    except ImportError as exc:  # a headless install without PySide6
        print(
            f"rigfit: the desktop app cannot start ({exc}). Subcommands still work: rigfit --help",
            file=sys.stderr,
        )
        return 2
    return gui_main(list(argv))


def _self_test() -> int:
    try:
        from ui.selftest import run_self_test
    except ImportError as exc:
        print(f"rigfit: self-test needs the desktop app's Qt libraries ({exc})", file=sys.stderr)
        return 2
    return run_self_test()


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--self-test"]:
        return _self_test()
    if not args_list or args_list[0].startswith("--gui-"):
        return _open_app(args_list)
    parser = build_parser()
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except RigfitError as exc:
        print(f"rigfit: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(exc.hint, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rigfit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
