"""File outputs of the `semmatch` commands: the --overwrite flag and the check each output file gets before any work.

Every file a command writes goes through `io.check_output_file` (here, before the work starts) and `io.write_output`
(when it is written): a folder, one of the command's inputs, a file inside a semmatch index or model folder, or an
existing file without --overwrite is refused with a clear message, and nothing is touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

overwrite_option = click.option(
    "--overwrite", is_flag=True,
    help="Replace an output file that exists already (never an input, a folder or a file inside an index).")


def db_file(db_url: str | None) -> str | None:
    """The SQLite file a database URL (default: $SEMMATCH_DATABASE_URL or sqlite:///semmatch.db) names, else None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from semmatch.store.database import default_database_url

    try:
        url = make_url(db_url or default_database_url())
    except ArgumentError:
        return None  # the store reports a malformed URL itself
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return url.database


def config_files(config_ref: str | None, models_dir: str | Path = "models") -> list[str]:
    """The files a --config reference may name: the path itself and the named config models/NAME.json."""
    if not config_ref:
        return []
    return [config_ref, str(Path(models_dir) / f"{config_ref}.json")]


def check_outputs(outputs: dict[str, str | None], inputs: Iterable[str | Path | None], overwrite: bool) -> None:
    """Check every output file of a command (option name -> path) before any work: against the inputs, each other,
    folders semmatch manages and existing files (`io.check_output_file`)."""
    from semmatch.atomic import resolve_folder
    from semmatch.errors import OutputRefusedError
    from semmatch.records.io import check_output_file

    sources = list(inputs)
    given = {option: path for option, path in outputs.items() if path}
    seen: dict[Path, str] = {}
    for option, path in given.items():
        target = resolve_folder(path)
        if target in seen:
            raise OutputRefusedError(f"{seen[target]} and {option} name the same file {path}; give each its own file")
        seen[target] = option
        check_output_file(path, inputs=sources, overwrite=overwrite)
