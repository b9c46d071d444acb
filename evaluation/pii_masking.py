"""Precision and recall of the personal-data masking (`semmatch.pii`) per kind, on hand-written texts.

    python evaluation/pii_masking.py [--data evaluation/data/pii_texts.txt] [--out evaluation/results/pii_masking.json]

The data file holds one text per line with the personal data marked [[kind|value]] (lines starting with # are
comments). A found span counts as correct (precision) when it overlaps a gold span of the same kind; a gold span
counts as found (recall) when found spans of its kind cover it completely, so nothing of it is left in the masked
text. `hidden` also accepts a cover by a span of another kind (what matters for privacy), `exact` asks for the same
start and end. `false_alarm_texts`: texts without personal data in which anything was masked.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from semmatch.pii import KINDS, Finding, find_personal_data

HERE = Path(__file__).parent
MARK = re.compile(r"\[\[(\w+)\|(.+?)\]\]")


def parse(line: str) -> tuple[str, list[Finding]]:
    """The plain text of a marked line and its gold spans."""
    text, gold, at = [], [], 0
    length = 0
    for match in MARK.finditer(line):
        before = line[at:match.start()]
        text.append(before)
        length += len(before)
        kind, value = match.group(1), match.group(2)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} in: {line}")
        gold.append(Finding(length, length + len(value), kind, value))
        text.append(value)
        length += len(value)
        at = match.end()
    text.append(line[at:])
    return "".join(text), gold


def load(path: Path) -> list[tuple[str, list[Finding]]]:
    lines = [raw.strip() for raw in path.read_text(encoding="utf-8").splitlines()]
    return [parse(line) for line in lines if line and not line.startswith("#")]


def _covered(span: Finding, found: list[Finding]) -> bool:
    chars = set(range(span.start, span.end))
    for f in found:
        chars -= set(range(f.start, f.end))
    return not {i for i in chars if i < len(span.value) + span.start and not span.value[i - span.start].isspace()}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate(texts: list[tuple[str, list[Finding]]]) -> dict:
    per_kind = {k: {"gold": 0, "found": 0, "correct": 0, "recalled": 0, "hidden": 0, "exact": 0} for k in KINDS}
    errors: list[dict] = []
    false_alarms = 0
    negatives = 0
    for text, gold in texts:
        found = find_personal_data(text)
        if not gold:
            negatives += 1
            false_alarms += bool(found)
        for f in found:
            stats = per_kind[f.kind]
            stats["found"] += 1
            ok = any(g.kind == f.kind and g.start < f.end and f.start < g.end for g in gold)
            stats["correct"] += ok
            if not ok:
                errors.append({"type": "false positive", "kind": f.kind, "value": f.value, "text": text})
        for g in gold:
            stats = per_kind[g.kind]
            stats["gold"] += 1
            same = [f for f in found if f.kind == g.kind]
            recalled = _covered(g, same)
            stats["recalled"] += recalled
            stats["hidden"] += _covered(g, found)
            stats["exact"] += any(f.start == g.start and f.end == g.end for f in same)
            if not recalled:
                got = [f.value for f in found if f.start < g.end and g.start < f.end]
                errors.append({"type": "missed", "kind": g.kind, "value": g.value, "found": got, "text": text})
    figures = {}
    for kind, s in per_kind.items():
        figures[kind] = {**s, "precision": _ratio(s["correct"], s["found"]), "recall": _ratio(s["recalled"], s["gold"]),
                         "hidden_rate": _ratio(s["hidden"], s["gold"]), "exact_rate": _ratio(s["exact"], s["gold"])}
    total = {name: sum(s[name] for s in per_kind.values()) for name in ("gold", "found", "correct", "recalled",
                                                                         "hidden")}
    figures["all"] = {**total, "precision": _ratio(total["correct"], total["found"]),
                      "recall": _ratio(total["recalled"], total["gold"]),
                      "hidden_rate": _ratio(total["hidden"], total["gold"])}
    return {"texts": len(texts), "texts_without_personal_data": negatives, "false_alarm_texts": false_alarms,
            "per_kind": figures, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "pii_texts.txt")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pii_masking.json")
    args = parser.parse_args()
    result = {"data": str(args.data.relative_to(HERE.parent) if args.data.is_absolute() else args.data),
              **evaluate(load(args.data))}
    print(f"{result['texts']} texts, {result['texts_without_personal_data']} without personal data "
          f"({result['false_alarm_texts']} of them with a false alarm)")
    print(f"{'kind':<8} {'gold':>5} {'found':>6} {'precision':>10} {'recall':>7} {'hidden':>7}")
    for kind, f in result["per_kind"].items():
        shown = {name: "-" if f[name] is None else f[name] for name in ("precision", "recall", "hidden_rate")}
        print(f"{kind:<8} {f['gold']:>5} {f['found']:>6} {shown['precision']:>10} {shown['recall']:>7} "
              f"{shown['hidden_rate']:>7}")
    for error in result["errors"]:
        print(f"  {error['type']}: {error['kind']} {error['value']!r}  <- {error['text'][:90]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
