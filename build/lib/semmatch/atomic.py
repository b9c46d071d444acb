"""Folders semmatch writes (index folders, converted and exported models), written safely.

- Atomic: a complete new version replaces the old one, or nothing changes, also after a crash between the two renames
  of the swap (`recover_interrupted_swap`).
- Only its own folders: an existing folder is replaced only when it is empty or when its marker file (index.json for
  an index) names every file in it. Anything else raises `FolderNotOwnedError` naming the folder, and nothing is
  touched. A folder written by an older semmatch (no file list in its marker) is recognised by its known file names.
- A symlinked folder: the link's target is replaced, the link stays.
- One writer at a time: writers hold an exclusive lock (filelock, a `.NAME.semmatch-lock` file next to the folder)
  from the check to the swap; `folder_lock` holds it across a whole load-change-save, so concurrent updates serialize.
  A lock path that is a symlink or not a regular file is refused (FolderBusyError), never followed.
- What a crashed writer left is removed only when it is semmatch's: a backup with its marker, a staging folder that
  holds semmatch's sentinel (an empty `.semmatch-staging` folder, dropped before the swap), is empty, or holds only
  file names of its format. A user's folder that merely looks like one is kept.
- `owning_folder` tells whether a path lies inside a folder of a known format (file outputs refuse to write there).
- Readers see one generation: `read_consistently` reads the marker before and after loading and loads again when a
  writer swapped the folder in between (the old folder's open files stay readable on POSIX).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from filelock import FileLock, Timeout

from semmatch.errors import FolderBusyError, FolderNotOwnedError

T = TypeVar("T")
LOCK_TIMEOUT_S = 600.0
READ_ATTEMPTS = 20
FILES_KEY = "files"
STAGING_SENTINEL = ".semmatch-staging"  # an empty folder inside each staging folder: "semmatch writes this one"
# The modules that define the folder formats (imported by `known_formats`, so each format is registered).
FORMAT_MODULES = (
    "semmatch.index.vector", "semmatch.embed.e5_convert", "semmatch.embed.onnx_export", "semmatch.eval.train",
)
_FORMATS: dict[tuple[str, str, str], FolderFormat] = {}


@dataclass(frozen=True)
class FolderFormat:
    """How semmatch recognises a folder it wrote: a JSON marker file carrying `key: value` and the list of files.

    An older semmatch wrote markers without the file list; such a marker is recognised by its `legacy_keys`, and by the
    files named in `legacy_checked` matching the SHA-256 checksums it lists. Then the folder may hold `legacy_files`
    (None: anything, e.g. a model folder in semmatch's cache)."""

    what: str
    marker: str
    key: str
    value: str
    legacy_keys: frozenset[str]
    legacy_checked: frozenset[str] = frozenset()
    legacy_files: frozenset[str] | None = None

    def __post_init__(self) -> None:
        _FORMATS.setdefault((self.marker, self.key, self.value), self)


def known_formats() -> list[FolderFormat]:
    """Every folder format semmatch writes (index, model, ONNX and fine-tuned folders)."""
    import importlib

    for module in FORMAT_MODULES:
        importlib.import_module(module)
    return list(_FORMATS.values())


def is_own_folder(folder: Path, fmt: FolderFormat) -> bool:
    """Whether folder carries fmt's marker (current or older form), or is a staging folder semmatch is writing."""
    if (folder / STAGING_SENTINEL).is_dir() and not (folder / STAGING_SENTINEL).is_symlink():
        return True
    marker_path = folder / fmt.marker
    if marker_path.is_symlink() or not marker_path.is_file():
        return False
    marker = _read_marker(folder, fmt)
    return marker is not None and (marker.get(fmt.key) == fmt.value or _older_marker(folder, marker, fmt))


def owning_folder(path: str | Path) -> tuple[Path, FolderFormat] | None:
    """The semmatch folder (index, model ...) that path lies inside, with its format; None when there is none.

    Symlinks are followed: a link into an index folder counts as inside it."""
    resolved = resolve_folder(path)
    formats = known_formats()
    for folder in resolved.parents:
        if not folder.is_dir():
            continue
        for fmt in formats:
            if is_own_folder(folder, fmt):
                return folder, fmt
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_folder(target: str | Path) -> Path:
    """The real folder behind a path (symlinks followed), so a linked folder is replaced where it lies."""
    return Path(os.path.realpath(Path(target).expanduser()))


def _holds_nothing(path: Path) -> bool:
    try:
        return not any(path.iterdir())
    except OSError:  # unreadable: counted as an entry that is not ours
        return True


def _entries(folder: Path) -> dict[str, bool]:
    """Every entry below folder except directories that hold something: relative path -> is a regular file."""
    found: dict[str, bool] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root).relative_to(folder)
        for name in dirs:
            path = Path(root) / name
            if path.is_symlink() or _holds_nothing(path):
                found[(base / name).as_posix() + ("" if path.is_symlink() else "/")] = False
        for name in files:
            path = Path(root) / name
            found[(base / name).as_posix()] = path.is_file() and not path.is_symlink()
    return found


def _read_marker(folder: Path, fmt: FolderFormat) -> dict | None:
    try:
        data = json.loads((folder / fmt.marker).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def foreign_entries(folder: Path, fmt: FolderFormat) -> list[str]:
    """The entries of an existing folder that semmatch did not write (all of them for a folder that is not ours)."""
    if not os.access(folder, os.R_OK | os.X_OK):
        return ["(a folder semmatch cannot read)"]
    entries = _entries(folder)
    if not entries:
        return []
    marker = _read_marker(folder, fmt) if entries.get(fmt.marker) else None
    known: set[str] = set()
    if marker is not None and marker.get(fmt.key) == fmt.value and isinstance(marker.get(FILES_KEY), list):
        known = {str(name) for name in marker[FILES_KEY]} | {fmt.marker}
    elif marker is not None and _older_marker(folder, marker, fmt):
        if fmt.legacy_files is None:
            return []
        known = set(fmt.legacy_files) | {fmt.marker}
    return sorted(name for name, regular in entries.items() if not (name in known and (regular or name.endswith("/"))))


def _older_marker(folder: Path, marker: dict, fmt: FolderFormat) -> bool:
    """Whether a marker without file list is one an older semmatch wrote (its keys, its checksums matching)."""
    if fmt.key in marker or FILES_KEY in marker or not fmt.legacy_keys <= marker.keys():
        return False
    checksums = marker.get("checksums", {})
    if not isinstance(checksums, dict) or not fmt.legacy_checked <= checksums.keys():
        return False
    for name, digest in checksums.items():
        path = folder / str(name)
        if path.is_symlink() or not path.is_file() or file_sha256(path) != digest:
            return False
    return True


def check_replaceable(target: str | Path, fmt: FolderFormat) -> Path:
    """Refuse (FolderNotOwnedError) a target that is a file, the current folder or one above it, or an existing folder
    holding anything semmatch did not write there. Returns the resolved folder."""
    folder = resolve_folder(target)
    cwd = Path.cwd().resolve()
    if folder == cwd or folder in cwd.parents:
        raise FolderNotOwnedError(f"{target} is the current folder or holds it, so semmatch will not replace it "
                                  f"with a {fmt.what}: choose an empty or new folder")
    if folder.exists() and not folder.is_dir():
        raise FolderNotOwnedError(f"{target} is a file, not a {fmt.what}; choose an empty or new folder")
    above = next(p for p in folder.parents if p.exists())
    if not above.is_dir():
        raise FolderNotOwnedError(f"{target} lies inside the file {above}; choose an empty or new folder")
    if folder.is_dir():
        foreign = foreign_entries(folder, fmt)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise FolderNotOwnedError(f"{target} is not a {fmt.what} (it holds {shown}, which semmatch did not "
                                      "write); semmatch replaces only its own folders: choose an empty or new folder")
    return folder


@contextmanager
def folder_lock(target: str | Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold the exclusive write lock of a folder (re-entrant in one thread; other threads and processes wait).

    Yields the resolved folder."""
    folder = resolve_folder(target)
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.parent / f".{folder.name}.semmatch-lock"
    _check_lock_path(path, target)
    lock = FileLock(path, timeout=timeout, is_singleton=True)
    try:
        lock.acquire()
    except Timeout as exc:
        raise FolderBusyError(f"{target} is being written by another semmatch process for more than {timeout:.0f} s; "
                              "try again when it has finished") from exc
    except OSError as exc:  # e.g. a symlink put there after the check (the lock file is opened without following it)
        raise FolderBusyError(f"cannot take the write lock {path} of {target} ({exc.strerror or exc}); if no semmatch "
                              "process is writing, remove that path and try again") from exc
    try:
        yield folder
    finally:
        lock.release()


def _check_lock_path(path: Path, target: str | Path) -> None:
    """Refuse a lock path that is a symlink or anything but a regular file (semmatch never follows or replaces it)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FolderBusyError(f"cannot check the write lock {path} of {target} ({exc.strerror or exc})") from exc
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        what = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise FolderBusyError(f"the write lock {path} of {target} is {what}, so semmatch will not use it; remove it "
                              "(semmatch creates it again as a plain file) and try again")


def _backups(folder: Path) -> list[Path]:
    return sorted((p for p in folder.parent.glob(f".{folder.name}.old-*") if p.is_dir() and not p.is_symlink()),
                  key=lambda p: p.stat().st_mtime)


def replace_dir_atomically(staging: Path, target: Path) -> None:
    """Move a complete staging folder to target (resolved, checked, under the folder lock): an existing target is
    renamed to a backup, the staging folder renamed in, the backup removed."""
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(backup)
    staging.rename(target)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def recover_interrupted_swap(target: str | Path, fmt: FolderFormat | None = None) -> bool:
    """After a crash between the two renames of `replace_dir_atomically`, put the previous folder back.

    Returns True when a folder was restored. A complete target is never touched. Call it under the folder lock."""
    folder = resolve_folder(target)
    if folder.exists():
        return False
    backups = [b for b in _backups(folder) if fmt is None or not foreign_entries(b, fmt)]
    if not backups:
        return False
    backups[-1].rename(folder)
    return True


def _tidy(folder: Path, fmt: FolderFormat) -> None:
    """Under the lock: restore a swap a crash interrupted, remove what crashed writers left (our backups and staging
    folders only)."""
    recover_interrupted_swap(folder, fmt)
    for backup in _backups(folder):
        if not foreign_entries(backup, fmt):
            shutil.rmtree(backup, ignore_errors=True)
    for staging in folder.parent.glob(f".{folder.name}.semmatch-staging-*"):
        if staging.is_dir() and not staging.is_symlink() and _left_by_a_writer(staging, fmt):
            shutil.rmtree(staging, ignore_errors=True)


def _left_by_a_writer(staging: Path, fmt: FolderFormat) -> bool:
    """Whether a folder named like a staging folder is one a crashed semmatch writer left: it holds the sentinel, is
    empty, is complete (its marker names every file), or holds only file names of its format (a partial write)."""
    sentinel = staging / STAGING_SENTINEL
    if sentinel.is_dir() and not sentinel.is_symlink():
        return True
    if not foreign_entries(staging, fmt):
        return True
    if fmt.legacy_files is None:
        return False
    known = set(fmt.legacy_files) | {fmt.marker}
    return all(regular and name in known for name, regular in _entries(staging).items())


def _stamp(staging: Path, fmt: FolderFormat) -> None:
    """Write the format key and the list of files into the staging folder's marker."""
    sentinel = staging / STAGING_SENTINEL
    if sentinel.is_dir() and not sentinel.is_symlink():
        sentinel.rmdir()  # not part of the folder semmatch hands over
    marker = _read_marker(staging, fmt) if (staging / fmt.marker).is_file() else {}
    if marker is None:
        raise FolderNotOwnedError(f"{staging / fmt.marker} is not a JSON object")  # a bug in the writer
    files = sorted(name for name in _entries(staging) if name != fmt.marker)
    marker.update({fmt.key: fmt.value, FILES_KEY: files})
    (staging / fmt.marker).write_text(json.dumps(marker, indent=2, sort_keys=True), encoding="utf-8")


@contextmanager
def atomic_directory(target: str | Path, fmt: FolderFormat) -> Iterator[Path]:
    """Yield an empty staging folder next to target; on success it replaces target, on any error it is removed.

    The target must be new, empty or a folder of this format that holds only its own files (else
    FolderNotOwnedError, before anything is written). The whole write holds the folder lock."""
    check_replaceable(target, fmt)  # before the lock creates the parent folder
    with folder_lock(target) as folder:
        _tidy(folder, fmt)
        check_replaceable(target, fmt)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.semmatch-staging-", dir=folder.parent))
        try:
            (staging / STAGING_SENTINEL).mkdir()
            yield staging
            _stamp(staging, fmt)
            check_replaceable(target, fmt)  # nobody put a file of their own there meanwhile
            replace_dir_atomically(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _token(folder: Path, fmt: FolderFormat) -> bytes | None:
    try:
        return (folder / fmt.marker).read_bytes()
    except OSError:
        return None


def read_consistently(target: str | Path, read: Callable[[], T], fmt: FolderFormat,
                      attempts: int = READ_ATTEMPTS) -> T:
    """Run `read` (which loads the folder's files) until it saw one generation: the marker (which names a unique
    generation) is the same before and after. An error while a writer swapped the folder is retried, any other one
    raised."""
    folder = Path(target)
    for attempt in range(attempts):
        if not folder.exists() and _backups(resolve_folder(folder)):
            with folder_lock(folder):  # a writer is swapping (wait for it) or crashed while swapping (restore)
                recover_interrupted_swap(folder, fmt)
        before = _token(folder, fmt)
        try:
            result = read()
        except Exception:  # files of two generations can fail in many ways; only a swap in between is retried
            after = _token(folder, fmt)
            if attempt + 1 < attempts and (after != before or (after is None and _backups(resolve_folder(folder)))):
                time.sleep(0.01 * (attempt + 1))
                continue
            raise
        if _token(folder, fmt) == before:
            return result
        time.sleep(0.01 * (attempt + 1))
    raise FolderBusyError(f"{target} changed during {attempts} loads in a row; try again")
