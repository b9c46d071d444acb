"""Reading and writing tables with polars: CSV, TSV, Parquet, JSON / NDJSON. Errors name the file."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from io import StringIO
from pathlib import Path

import polars as pl

from semmatch.errors import DataValidationError, OutputRefusedError

READERS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
# What a spreadsheet may evaluate at the start of a cell (OWASP "CSV injection", plus full-width = + - @).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A tab and everything str.splitlines treats as a line break: inside a TSV cell each would break the row.
ROW_BREAK_CHARS = ("\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


ONE_LINE = str.maketrans(dict.fromkeys(ROW_BREAK_CHARS, " "))


def _char_class(chars: tuple[str, ...]) -> str:
    """A regex character class in polars' (Rust regex) syntax."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


FORMULA_PATTERN = "^" + _char_class(FORMULA_PREFIXES)
ROW_BREAK_PATTERN = _char_class(ROW_BREAK_CHARS)


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in READERS:
        raise DataValidationError(
            f"unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(READERS))}", file=str(path)
        )
    return READERS[suffix]


def read_table(path: str | Path, content: bytes | None = None) -> pl.DataFrame:
    """Read a table; every column of a CSV/TSV is read as text so ids like PLZ '01067' keep their zeros.

    content: the file's bytes (an upload), `path` then only names it (format, messages). JSON and NDJSON columns must
    hold one kind of value each (`semmatch.records.json_records`)."""
    from semmatch.records.json_records import read_json_records

    path = Path(path)
    if content is None and not path.is_file():
        raise DataValidationError("file not found", file=str(path))
    kind = file_format(path)
    try:
        raw = path.read_bytes() if content is None else content
        if kind == "parquet":
            return pl.read_parquet(raw)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise DataValidationError(
                f"not valid UTF-8 at byte {exc.start} (line {line}); save the file as UTF-8", file=str(path)
            ) from exc
        if kind in ("csv", "tsv"):
            return pl.read_csv(
                raw, separator="\t" if kind == "tsv" else ",", infer_schema=False,
                quote_char=None if kind == "tsv" else '"',
            )
        return read_json_records(decoded, kind, str(path))
    except DataValidationError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise DataValidationError(f"cannot read {kind}: {exc}", file=str(path)) from exc


def escape_formula(value: object) -> object:
    """Make a text cell safe for spreadsheets: a cell starting with = + - @ (also their full-width forms), tab or
    carriage return gets a leading apostrophe, so Excel and LibreOffice show it as text instead of evaluating it."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_formula(value: str) -> str:
    """The inverse of `escape_formula`, for exports semmatch reads back (qrels): drop the apostrophe it added."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES) else value


def flatten_cell(value: str) -> str:
    """A cell on one line for TSV: tabs and every line break (as `str.splitlines` sees them) become a space."""
    return value.translate(ONE_LINE)


def escape_frame(frame: pl.DataFrame, *, one_line: bool = False) -> pl.DataFrame:
    """A frame ready for a spreadsheet export, the one path every CSV/TSV export takes.

    Nested values become JSON text, categorical ones text; every text cell and every column name is formula-escaped
    (`escape_formula`, ids included). With `one_line` (TSV, written without quotes) tabs and line breaks inside a
    cell become spaces, so each record stays exactly one row; CSV keeps them inside quotes instead.
    """
    names = [_escape_name(name, one_line) for name in frame.columns]
    if names != frame.columns and len(set(names)) == len(names):
        frame = frame.rename(dict(zip(frame.columns, names)))
    if frame.height == 0:
        return frame
    nested = [c for c, dtype in frame.schema.items() if dtype.is_nested()]
    if nested:
        frame = frame.with_columns(pl.Series(c, [None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                                 for v in frame[c].to_list()], dtype=pl.String) for c in nested)
    categorical = [c for c, dtype in frame.schema.items() if isinstance(dtype, (pl.Categorical, pl.Enum))]
    if categorical:
        frame = frame.with_columns(pl.col(c).cast(pl.String) for c in categorical)
    text = pl.col(pl.String)
    escaped = pl.when(text.str.contains(FORMULA_PATTERN)).then(pl.lit("'") + text).otherwise(text)
    if one_line:
        escaped = escaped.str.replace_all(ROW_BREAK_PATTERN, " ")
    return frame.with_columns(escaped.name.keep())


def _escape_name(name: str, one_line: bool) -> str:
    escaped = "'" + name if name.startswith(FORMULA_PREFIXES) else name
    return flatten_cell(escaped) if one_line else escaped


def check_output_file(path: str | Path, *, inputs: Iterable[str | Path | None] = (), overwrite: bool = False) -> Path:
    """The one check every file a command writes goes through; returns the path to write (symlinks followed).

    Refused (OutputRefusedError, nothing written) when path is a folder or not a regular file, is one of the command's
    `inputs` (also through a symlink or hard link) or lies inside one of its input folders, lies inside a folder
    semmatch manages (an index or model folder, `atomic.owning_folder`), or exists already and `overwrite` is False.
    """
    from semmatch.atomic import owning_folder, resolve_folder

    given = Path(path).expanduser()
    target = resolve_folder(given)
    if target.is_dir():
        raise OutputRefusedError(f"{path} is a folder; give the name of a file to write")
    owner = owning_folder(target)
    if owner is not None:
        raise OutputRefusedError(f"{path} lies inside {owner[0]}, a {owner[1].what}; semmatch writes only its own "
                                 "files there: choose a file outside it")
    for item in inputs:
        if item is None or str(item) == "":
            continue
        source = resolve_folder(item)
        if source == target or _same_file(source, target):
            raise OutputRefusedError(f"{path} is an input of this command; semmatch never writes over its input: "
                                     "choose another file")
        if source.is_dir() and source in target.parents:
            raise OutputRefusedError(f"{path} lies inside {item}, which this command reads; choose a file outside it")
    if target.exists() and not target.is_file():
        raise OutputRefusedError(f"{path} exists and is not a regular file; choose another file")
    if (target.exists() or given.is_symlink()) and not overwrite:
        raise OutputRefusedError(f"{path} exists already and semmatch does not overwrite files: choose a new file "
                                 "name, or pass --overwrite to replace it")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.is_file() and b.is_file() and os.path.samefile(a, b)
    except OSError:
        return False


def write_output(path: str | Path, write: Callable[[Path], object], *, inputs: Iterable[str | Path | None] = (),
                 overwrite: bool = False) -> Path:
    """Write one output file safely: `check_output_file`, then `write(temporary file)` next to it, then the temporary
    file takes the path's place in one step. Without overwrite the last step only creates (a hard link, which fails if
    a file appeared meanwhile), so a file that was not there at the check is not replaced either. Returns the path."""
    target = check_output_file(path, inputs=inputs, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise DataValidationError(f"cannot write: {exc}", file=str(path)) from exc
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if overwrite:
            tmp.replace(target)
        else:
            _create(tmp, target, path)
    except OSError as exc:
        raise DataValidationError(f"cannot write: {exc}", file=str(path)) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return Path(path)


def _create(tmp: Path, target: Path, shown: str | Path) -> None:
    """Put tmp at target only if target does not exist (atomically where the file system has hard links)."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise OutputRefusedError(f"{shown} was created by someone else meanwhile; semmatch left it as it is") from None
    except OSError:  # no hard links here (some network or FAT file systems): check, then rename
        pass
    try:
        target.lstat()
    except FileNotFoundError:
        tmp.replace(target)
        return
    raise OutputRefusedError(f"{shown} was created by someone else meanwhile; semmatch left it as it is")


def write_table(frame: pl.DataFrame, path: str | Path, *, overwrite: bool = True,
                inputs: Iterable[str | Path | None] = ()) -> Path:
    """Write CSV, TSV, Parquet or JSON atomically (temporary file + rename), through `write_output`: never into a
    folder, over an input or inside a semmatch folder; over an existing file only with overwrite (the commands pass
    their --overwrite flag, default off).

    CSV and TSV go through `escape_frame`: formulas escaped, one row per record (CSV quotes a cell with a line break;
    TSV, written without quotes so that `id<TAB>text` readers split it, turns tabs and line breaks into spaces).
    """
    kind = file_format(path)

    def write(tmp: Path) -> None:
        if kind in ("csv", "tsv"):
            escape_frame(frame, one_line=kind == "tsv").write_csv(
                tmp, separator="\t" if kind == "tsv" else ",", quote_style="necessary" if kind == "csv" else "never")
        elif kind == "parquet":
            frame.write_parquet(tmp)
        elif kind == "ndjson":
            frame.write_ndjson(tmp)
        else:
            tmp.write_text(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")

    return write_output(path, write, inputs=inputs, overwrite=overwrite)


HEADER_ID_NAMES = {"id", "_id", "qid", "pid", "docid", "query_id", "query-id", "queryid", "doc_id", "doc-id",
                   "corpus_id", "corpus-id"}


def read_id_text_tsv(path: str | Path, id_column: str = "id", text_column: str = "text") -> pl.DataFrame:
    """Read a BEIR/TREC-style `id<TAB>text` file without quote processing; a header line is optional."""
    rows = read_tsv_rows(path)
    if rows and rows[0][0].strip().lower() in HEADER_ID_NAMES:
        rows = rows[1:]
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[1].strip():
            raise DataValidationError("expected id<TAB>text with a non-empty text", file=str(path), row=number)
    return pl.DataFrame({id_column: [r[0] for r in rows], text_column: ["\t".join(r[1:]) for r in rows]},
                        schema={id_column: pl.String, text_column: pl.String})


def read_tsv_rows(path: str | Path) -> list[list[str]]:
    """Split a TSV into rows of fields, with no quote processing at all."""
    reader = csv.reader(_read_text(path).splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [row for row in reader if row and any(cell.strip() for cell in row)]


def read_csv_rows(path: str | Path) -> list[list[str]]:
    """Split a CSV into rows of fields, quoted cells (also with line breaks) as one field."""
    reader = csv.reader(StringIO(_read_text(path), newline=""))
    return [row for row in reader if row and any(cell.strip() for cell in row)]


def _read_text(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataValidationError("file not found", file=str(path))
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"not valid UTF-8 ({exc})", file=str(path)) from exc
