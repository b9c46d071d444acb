"""Click parameter types and callbacks shared by the `semmatch` commands."""

from __future__ import annotations

import math
import os

import click

from semmatch.config import MatchConfig
from semmatch.errors import SemmatchError
from semmatch.records.schema import ColumnMapping, normalise_id


class FiniteFloat(click.ParamType):
    """A finite number, optionally at least `minimum`: refuses nan and inf (click's FloatRange lets nan through)."""

    name = "number"

    def __init__(self, minimum: float | None = None):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{number:g} is below the minimum {self.minimum:g}", param, ctx)
        return number


def normalised_id(ctx: click.Context, param: click.Parameter, value):
    """Click callback: ids given on the command line are compared as stored (NFC, stripped; case-sensitive)."""
    if value is None:
        return None
    return tuple(normalise_id(v) for v in value) if isinstance(value, tuple) else normalise_id(value)


class SemmatchGroup(click.Group):
    """Turns semmatch's own errors into a message at the edge instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SemmatchError as exc:
            raise click.ClickException(str(exc)) from exc


def _config(config_path: str | None, **options) -> MatchConfig:
    """Settings from a JSON file or a named config (models/<name>.json, e.g. from `semmatch tune`), plus options."""
    from semmatch.config import resolve_config

    base = resolve_config(config_path) if config_path else MatchConfig()
    return base.with_options(**options)


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@click.group(cls=SemmatchGroup)
@click.version_option(package_name="semmatch")
def main() -> None:
    """semmatch: match needs (Bedarfe) to offers of help with multilingual sentence embeddings."""
    _quiet_libraries()


def mapping_options(func):
    func = click.option("--id-column", help="Column with the record id (default: need_id/offer_id/id).")(func)
    func = click.option("--text-column", "text_columns", multiple=True,
                        help="Column(s) to embed, repeatable (default: title + description, or text).")(func)
    func = click.option("--contact-column", "contact_columns", multiple=True,
                        help="Extra column holding personal data (never embedded or stored), repeatable.")(func)
    return func


def _mapping(id_column: str | None, text_columns: tuple[str, ...], contact_columns: tuple[str, ...] = ()
             ) -> ColumnMapping:
    return ColumnMapping(id_column=id_column, text_columns=tuple(text_columns) or None,
                         contact_columns=frozenset(c.lower() for c in contact_columns))
