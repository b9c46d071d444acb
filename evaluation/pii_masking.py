"""Precision and recall of the personal-data masking (`semmatch.records.pii`) per kind, on hand-written texts.

    python evaluation/pii_masking.py [--data evaluation/data/pii_texts.txt] [--out evaluation/results/pii_masking.json]
    python evaluation/pii_masking.py --speed 30000   # seconds to validate (and mask) that many demo-like offers

The data file holds one text per line with the personal data marked [[kind|value]] (lines starting with # are
comments). A line `#== name` starts a section: the figures are reported for the whole file and for each section
apart (the held-out file has the 60 held-out texts and, apart, the red-team forms added with their fix). A found
span counts as correct (precision) when it overlaps a gold span of the same kind; a gold span counts as found
(recall) when found spans of its kind cover it completely, so nothing of it is left in the masked text. `hidden`
also accepts a cover by a span of another kind (what matters for privacy), `exact` asks for the same start and end.
`false_alarm_texts`: texts without personal data in which anything was masked.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from semmatch.records.pii import KINDS, Finding, find_personal_data

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


FIRST_SECTION = "texts"
SECTION = "#=="


def load_sections(path: Path) -> dict[str, list[tuple[str, list[Finding]]]]:
    """The texts of each section (`#== name` lines), in file order; texts before the first header are `texts`."""
    sections: dict[str, list[tuple[str, list[Finding]]]] = {FIRST_SECTION: []}
    current = FIRST_SECTION
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith(SECTION):
            current = line[len(SECTION):].strip()
            sections.setdefault(current, [])
        elif line and not line.startswith("#"):
            sections[current].append(parse(line))
    return {name: texts for name, texts in sections.items() if texts}


def load(path: Path) -> list[tuple[str, list[Finding]]]:
    return [text for texts in load_sections(path).values() for text in texts]


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
    parser.add_argument("--speed", type=int, metavar="N", help="only time validation and masking of N offers")
    args = parser.parse_args()
    if args.speed:
        speed(args.speed)
        return
    sections = load_sections(args.data)
    result = {"data": str(args.data.relative_to(HERE.parent) if args.data.is_absolute() else args.data),
              **evaluate([text for texts in sections.values() for text in texts])}
    if len(sections) > 1:
        result["sections"] = {name: evaluate(texts) for name, texts in sections.items()}
    _print(result)
    for name, part in result.get("sections", {}).items():
        print(f"\n== section {name!r}")
        _print(part)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {args.out}")


def speed(n: int, repeats: int = 3) -> None:
    """Best-of-three seconds of `validate_records` (which masks) and of `mask_frame` alone on n demo-like offers
    (`perf_data.synthetic_offers`, with the demo offers' conditions)."""
    import sys
    import time

    import polars as pl

    sys.path.insert(0, str(HERE.parent))
    from evaluation.perf_data import demo_offers, synthetic_offers
    from semmatch.records.masking import mask_frame
    from semmatch.records.schema import validate_records

    frame, _ = synthetic_offers(n)
    conditions = demo_offers()["condition"].to_list()
    frame = frame.with_columns(pl.Series("condition", [conditions[i % len(conditions)] for i in range(n)]))
    best_validate = best_mask = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        valid = validate_records(frame)
        best_validate = min(best_validate, time.perf_counter() - started)
        started = time.perf_counter()
        mask_frame(valid, skip=("id",))
        best_mask = min(best_mask, time.perf_counter() - started)
    print(f"{n} offers: validate_records {best_validate:.2f} s, mask_frame {best_mask:.2f} s (best of {repeats})")


def _print(result: dict) -> None:
    print(f"{result['texts']} texts, {result['texts_without_personal_data']} without personal data "
          f"({result['false_alarm_texts']} of them with a false alarm)")
    print(f"{'kind':<8} {'gold':>5} {'found':>6} {'precision':>10} {'recall':>7} {'hidden':>7}")
    for kind, f in result["per_kind"].items():
        shown = {name: "-" if f[name] is None else f[name] for name in ("precision", "recall", "hidden_rate")}
        print(f"{kind:<8} {f['gold']:>5} {f['found']:>6} {shown['precision']:>10} {shown['recall']:>7} "
              f"{shown['hidden_rate']:>7}")
    for error in result["errors"]:
        print(f"  {error['type']}: {error['kind']} {error['value']!r}  <- {error['text'][:90]}")


if __name__ == "__main__":
    main()
