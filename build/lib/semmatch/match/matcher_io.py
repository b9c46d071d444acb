"""Saving and loading a Matcher's index folder.

Save: one atomic folder swap under the folder's write lock (`semmatch.atomic`); only a new, empty or semmatch index
folder is replaced. Load: the files of one generation, also while another process saves. Callers that change a saved
index (load, change, save) hold `folder_lock` across all three, so concurrent updates are not lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from semmatch.atomic import atomic_directory, read_consistently
from semmatch.config import MatchConfig
from semmatch.embed.base import Embedder
from semmatch.errors import IndexCorruptError, IndexMismatchError
from semmatch.index.sentences import SentenceTable
from semmatch.index.vector import INDEX_FOLDER, VectorIndex
from semmatch.records.schema import ID

if TYPE_CHECKING:
    from semmatch.match.protocols import MatcherLike

MATCHER_FILE = "matcher.json"
RECORDS_FILE = "records.parquet"


def save_matcher(matcher: MatcherLike, directory: str | Path) -> Path:
    """Write the folder: sentence table, records (no contact fields), settings, then the index files and index.json
    (checksums of all of them, the format marker and the file list)."""
    matcher._check_fitted()
    with atomic_directory(directory, INDEX_FOLDER) as staging:
        matcher._sentence_table().write_files(staging)
        matcher.records_.write_parquet(staging / RECORDS_FILE)
        settings = {"kind": matcher.kind, "model_id": matcher.index_.model_id, "config": matcher.config.to_dict()}
        (staging / MATCHER_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True), encoding="utf-8")
        matcher.index_.write_files(staging)
    return Path(directory)


def load_matcher(cls: type[MatcherLike], directory: str | Path, *, model: str | None = None,
                 embedder: Embedder | None = None, config: MatchConfig | None = None) -> MatcherLike:
    """Load a saved matcher; files of two generations (a save in between) are read again."""
    folder = Path(directory)
    return read_consistently(folder, lambda: _read_matcher(cls, folder, model, embedder, config), INDEX_FOLDER)


def _read_matcher(cls: type[MatcherLike], directory: Path, model: str | None, embedder: Embedder | None,
                  config: MatchConfig | None) -> MatcherLike:
    settings_path = directory / MATCHER_FILE
    if not settings_path.is_file():
        from semmatch.atomic import check_replaceable
        from semmatch.errors import FolderNotOwnedError

        try:  # suggest --out DIR only where `semmatch index` would write
            check_replaceable(directory, INDEX_FOLDER)
            out = str(directory)
        except FolderNotOwnedError:
            out = "<new folder>"
        raise IndexCorruptError(f"{directory} holds no {MATCHER_FILE}, so it is not a semmatch index: build one with "
                                f"`semmatch index <file> --out {out}` and match against that folder")
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        saved_config = MatchConfig.from_dict(settings["config"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"{settings_path} is unreadable ({exc}); rebuild the index") from exc
    config = config or saved_config
    if model is not None:
        config = config.with_options(model=model)
    matcher = cls(config, embedder=embedder, kind=settings.get("kind", "offers"))
    expected = matcher._embedder().model_id
    if expected != settings.get("model_id"):
        raise IndexMismatchError(
            f"index {directory} was built with {settings.get('model_id')!r} but the model asked for is "
            f"{expected!r}. Rebuild it: semmatch index <records file> --out {directory} --model {config.model}"
        )
    matcher.index_ = VectorIndex.read_files(directory, expected_model_id=expected)
    try:
        matcher.records_ = pl.read_parquet(directory / RECORDS_FILE)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise IndexCorruptError(f"{directory / RECORDS_FILE} is missing or unreadable; rebuild the index with "
                                "`semmatch index`") from exc
    if set(matcher.records_[ID].to_list()) != set(matcher.index_.ids):
        raise IndexCorruptError(f"{directory}: records and index hold different ids; rebuild the index")
    matcher.sentences_ = SentenceTable.load(directory, matcher.index_.dimension)
    if matcher.sentences_ is not None and len(matcher.sentences_) != matcher.records_.height:
        raise IndexCorruptError(f"{directory}: the sentence table does not cover the records; rebuild the index")
    matcher._refresh()
    return matcher
