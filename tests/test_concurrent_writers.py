"""Issue 15, item 6: concurrent writers on one index folder.

Six `semmatch update` processes add distinct records to one folder at the same moment while other processes load and
match it (the Python API and the `match` command). Writers serialize on the folder's lock: no update is lost; readers
always load one complete generation: no error, and every size they see is one a writer saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from semmatch import MatchConfig, Matcher
from tests.conftest import KEYWORDS, KeywordEmbedder

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[1]
WRITERS, PER_WRITER, BASE = 6, 5, 3

START = """
import sys, time
from pathlib import Path
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
from semmatch.cli.main import main  # imports done before the start signal, so all processes act at once
from semmatch.match.matcher import Matcher
ready.touch()
while not go.exists():
    time.sleep(0.002)
"""
WRITER = START + """
main(["update", sys.argv[3], "--records", sys.argv[4]], prog_name="semmatch")
"""
READER = START + """
import json
from click.testing import CliRunner
folder, stop, via = sys.argv[3], Path(sys.argv[4]), sys.argv[5]
sizes, errors = [], []
while len(sizes) < 400 and not (stop.exists() and sizes):
    if via == "api":
        try:
            matcher = Matcher.load(folder)
            matcher.match("Website", k=3)
            sizes.append(len(matcher.index_))
        except Exception as exc:  # the test reports every error; none is expected
            errors.append(repr(exc))
    else:
        result = CliRunner().invoke(main, ["match", folder, "--text", "Website", "-k", "100", "--format", "json"])
        if result.exit_code:
            errors.append(result.output[-500:] + repr(result.exception))
        else:
            sizes.append(len(json.loads(result.output)))
print(json.dumps({"sizes": sizes, "errors": errors}))
"""


def records(prefix: str, n: int) -> pl.DataFrame:
    return pl.DataFrame({"offer_id": [f"{prefix}-{j}" for j in range(n)],
                         "description": [f"{KEYWORDS[j % len(KEYWORDS)]} Angebot {prefix} {j}" for j in range(n)]})


def spawn(code: str, tmp: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "SEMMATCH_PLUGINS": "tests.fake_plugin", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    ready = tmp / f"ready-{name}"
    process = subprocess.Popen([sys.executable, "-c", code, str(ready), str(tmp / "go"), *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, ready


def test_six_concurrent_updates_lose_nothing_and_readers_see_whole_generations(tmp_path):
    folder = tmp_path / "idx"
    config = MatchConfig(model="test-keywords", mode="dense", use_cache=False)
    Matcher(config, embedder=KeywordEmbedder()).fit(records("B", BASE)).save(folder)
    writers, readers, ready = [], [], []
    for w in range(WRITERS):
        records(f"W{w}", PER_WRITER).write_csv(tmp_path / f"w{w}.csv")
        process, flag = spawn(WRITER, tmp_path, f"w{w}", str(folder), str(tmp_path / f"w{w}.csv"))
        writers.append(process)
        ready.append(flag)
    for via in ("api", "api", "cli"):
        process, flag = spawn(READER, tmp_path, f"r{len(readers)}", str(folder), str(tmp_path / "stop"), via)
        readers.append(process)
        ready.append(flag)
    deadline = time.monotonic() + 300
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline and all(p.poll() is None for p in writers + readers), \
            [p.communicate()[1][-2000:] for p in writers + readers if p.poll() is not None]
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outcomes = [p.communicate(timeout=300) + (p.returncode,) for p in writers]
    (tmp_path / "stop").touch()
    seen = [p.communicate(timeout=300) + (p.returncode,) for p in readers]

    failed = [(rc, err[-1500:]) for _, err, rc in outcomes if rc != 0]
    assert failed == [], failed
    final = Matcher.load(folder, embedder=KeywordEmbedder())
    expected = {f"B-{j}" for j in range(BASE)} | {f"W{w}-{j}" for w in range(WRITERS) for j in range(PER_WRITER)}
    assert set(final.index_.ids) == expected  # zero lost updates
    assert set(final.records_["id"].to_list()) == expected
    valid = {BASE + PER_WRITER * m for m in range(WRITERS + 1)}  # the sizes of the generations the writers saved
    for out, err, rc in seen:
        assert rc == 0, err[-2000:]
        report = json.loads(out.strip().splitlines()[-1])
        assert report["errors"] == [], report["errors"][:3]
        assert report["sizes"] and set(report["sizes"]) <= valid, report["sizes"]
        assert report["sizes"] == sorted(report["sizes"])  # generations only move forward
    assert not [p.name for p in tmp_path.iterdir() if ".old-" in p.name or "staging" in p.name]
