"""``rigfit install-desktop-entry``: put Rigfit in the Linux application launcher for this user."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "install-desktop-entry",
        help="add Rigfit to this user's application launcher (Linux)",
        description="Install the .desktop entry, icons and AppStream metainfo for the current user.",
    )
    p.add_argument("--uninstall", action="store_true", help="remove them again")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from advisor.desktop_entry import install_desktop_entry, uninstall_desktop_entry
    from advisor.errors import RigfitError

    if not sys.platform.startswith("linux"):
        raise RigfitError(
            "Desktop entries are a Linux feature.",
            hint="On Windows and macOS use the packaged app (see docs/packaging.md).",
        )
    if args.uninstall:
        removed = uninstall_desktop_entry()
        print(f"Removed {len(removed)} file(s)." if removed else "Nothing to remove.")
        return 0
    entry = install_desktop_entry()
    print(f"Installed {entry.desktop_file}")
    print(f"It starts: {entry.exec_command}")
    print("Rigfit now appears in your application launcher.")
    return 0
