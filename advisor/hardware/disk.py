"""Free space where downloads will land: the user's download folder setting, else the home folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from advisor.hardware.types import Disk


@dataclass(frozen=True)
class DiskReading:
    disk: Disk | None
    notes: tuple[str, ...] = ()


def default_download_path() -> str:
    """The app's download folder when settings name one, else the home folder."""
    try:  # settings are built by another part of the app; until they exist the home folder is the answer
        from advisor.settings import load_settings  # type: ignore[import-not-found]

        folder = getattr(load_settings(), "download_dir", None)
        if folder:
            return str(folder)
    except Exception:
        pass
    return str(Path.home())


def _existing_ancestor(path: Path) -> Path | None:
    """The folder itself, or the nearest parent that exists (a download folder may not be created yet)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


def read_disk(path: str | None = None) -> DiskReading:
    """Free and total bytes on the file system holding ``path``; never raises."""
    target = Path(os.path.expanduser(path or default_download_path())).absolute()
    existing = _existing_ancestor(target)
    if existing is None:
        return DiskReading(Disk(path=str(target)), (f"Cannot find the download folder {target}.",))
    try:
        usage = shutil.disk_usage(existing)
    except OSError as exc:
        return DiskReading(Disk(path=str(target)), (f"Cannot read free space at {target} ({exc.strerror or exc}).",))
    notes = () if existing == target else (f"{target} does not exist yet; free space is that of {existing}.",)
    return DiskReading(Disk(path=str(target), free_bytes=usage.free, total_bytes=usage.total), notes)
