"""One exception hierarchy for semmatch. The CLI turns these into clear messages at the edge."""

from __future__ import annotations

import importlib
from types import ModuleType


class SemmatchError(Exception):
    """Base class of every error semmatch raises on purpose."""


class ConfigError(SemmatchError, ValueError):
    """A setting is unknown, misspelled or out of range."""


class DataValidationError(SemmatchError, ValueError):
    """Input data is unreadable or invalid. Names the file, row (1-based data row) and column where known."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None, column: str | None = None):
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class TextTooLongError(DataValidationError):
    """A text to match (or a record's text) is longer than semmatch accepts; `length` and `limit` in characters."""

    def __init__(self, length: int, limit: int, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.length = length
        self.limit = limit
        super().__init__(f"text has {length:,} characters; at most {limit:,} are accepted: shorten it", file=file,
                         row=row, column=column)


class ModelError(SemmatchError):
    """A model cannot be found, prepared or loaded."""


class MissingDependencyError(SemmatchError, ImportError):
    """An optional package is missing; the message names the install command (`extra`: the semmatch extra)."""

    def __init__(self, message: str, *, extra: str | None = None) -> None:
        self.extra = extra
        super().__init__(f'{message}: pip install "semmatch[{extra}]"' if extra else message)


def require(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import an optional package, or raise MissingDependencyError naming `pip install "semmatch[<extra>]"`.

    feature: what needs it, for the message (default: the module)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise MissingDependencyError(f"{feature or module} needs {package}, from the {extra} extra",
                                     extra=extra) from exc


class IndexMismatchError(SemmatchError):
    """A saved index was built with another model or encoder path than the one asked for."""


class IndexCorruptError(SemmatchError):
    """A saved index is incomplete or its files do not match their checksums."""


class FolderNotOwnedError(SemmatchError):
    """A folder to write is not one semmatch wrote (nor empty): it is left untouched."""


class FolderBusyError(SemmatchError):
    """Another semmatch process held a folder's write lock for too long."""


class NotFittedError(SemmatchError, ValueError, AttributeError):
    """An object was used before `fit` (as in scikit-learn: both a ValueError and an AttributeError)."""


class UnknownIdError(SemmatchError, KeyError):
    """An id is not in the index or store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown id"


class StoreError(SemmatchError):
    """The decision store cannot be opened or migrated, or a request to it is invalid."""


class InvalidDecisionError(StoreError, ValueError):
    """A decision has an unknown action, a rating out of range or a timestamp without time zone."""


class ContactCapError(StoreError):
    """Recording one more 'contacted' for an offer would exceed the cap of contacts per offer per 7 days."""


class OutputRefusedError(SemmatchError):
    """A file to write exists already (and overwriting was not asked for), is one of the command's inputs, is a folder
    or lies inside a folder semmatch manages (an index or model folder): nothing is written."""


class TrackingError(SemmatchError):
    """The MLflow tracking store ($MLFLOW_TRACKING_URI) cannot be used; the message names the URI and what to use."""
