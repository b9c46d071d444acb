"""Packaged match-% calibrations: Platt parameters per model, mode and weights, fitted by
`evaluation/calibrate.py` and shipped in semmatch/data/calibration.json. Each entry names the model id it was fitted
with; another model or weight set gets no packaged calibration. Fit one on labelled pairs with
`semmatch.match.scoring.fit_calibration` and set calibration_slope / calibration_intercept in the config."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from semmatch.config import MatchConfig
from semmatch.match.scoring import Calibration

CALIBRATION_FILE = "calibration.json"


def calibration_key(config: MatchConfig) -> str:
    """Which settings a calibration is valid for: model, mode, lexical backend and weights."""
    weights = config.weights.as_dict()
    parts = [config.model, config.mode]
    if config.mode == "hybrid":
        parts += [config.lexical, *(f"{name}={value:g}" for name, value in weights.items()),
                  f"scale={config.proximity_scale_km:g}"]
    return "|".join(parts)


@lru_cache(maxsize=1)
def packaged_calibrations() -> dict[str, Any]:
    text = resources.files("semmatch").joinpath("data", CALIBRATION_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def packaged_calibration(config: MatchConfig, model_id: str | None = None) -> Calibration | None:
    """The shipped calibration for these settings, if it was fitted with this very model (`model_id`)."""
    entry = packaged_calibrations().get(calibration_key(config))
    if not entry or entry.get("model_id") != model_id:
        return None
    return Calibration(entry["slope"], entry["intercept"])
