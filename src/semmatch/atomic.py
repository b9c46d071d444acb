"""Folders written atomically: a complete new version replaces the old one, or nothing changes (also after a crash
between the two renames, see `recover_interrupted_swap`). Used for index folders and exported models."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def replace_dir_atomically(staging: Path, target: Path) -> None:
    """Move a complete staging folder to target; an existing target is swapped out, then removed."""
    target = Path(target)
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        if backup.exists():
            shutil.rmtree(backup)
        target.rename(backup)
    staging.rename(target)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def recover_interrupted_swap(target: str | Path) -> bool:
    """After a crash between the two renames of `replace_dir_atomically`, put the previous folder back.

    Returns True when a folder was restored. A complete target is never touched."""
    target = Path(target)
    if target.exists():
        return False
    backups = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not backups:
        return False
    backups[-1].rename(target)
    return True


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder next to target; on success it replaces target, on any error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        replace_dir_atomically(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
