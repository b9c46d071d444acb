"""Click parameter types and callbacks shared by the `semmatch` commands."""

from __future__ import annotations

import math

import click

from semmatch.schema import normalise_id


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
