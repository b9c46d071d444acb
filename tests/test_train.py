"""Learning from decisions: fusion weights + calibration (logistic regression, CV by need) and fine-tuning."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from semmatch.config import MatchConfig, resolve_config
from semmatch.errors import ConfigError, DataValidationError, ModelError
from semmatch.eval.train import check_name, decision_pairs, finetune, finetune_pairs
from semmatch.eval.weights import config_from_coefficients, grouped_folds, pair_components, tune_weights
from semmatch.match import matcher as matcher_module
from semmatch.match.scoring import Calibration
from tests.conftest import KeywordEmbedder
from tests.test_tracking import TOPICS, fill_store

WORDS = ["wir", "suchen", "ich", "helfe", "website", "wordpress", "daten", "statistik", "python", "fahrdienst",
         "auto", "senioren", "übersetzung", "arabisch", "nachhilfe", "mathe", "grafik", "logo", "social",
         "instagram", "antrag", "formular", "bei", "mit", "und", "für"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A randomly initialised 2-layer BERT with a word-level WordPiece vocabulary, as a sentence-transformers
    folder: built offline in a second."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny")
    hf = root / "hf"
    hf.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyzäöüß",
             *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyzäöüß")]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(hf / "vocab.txt"), do_lower_case=True).save_pretrained(hf)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=32)
    model = SentenceTransformer(modules=[transformer, Pooling(32, "mean"), Normalize()], device="cpu")
    model.prompts = {"query": "query: "}
    folder = root / "tiny-st"
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    """The tiny demo-like data of test_tracking, with a simulated coordinator's decisions in a store (shared)."""
    import random

    data_dir = tmp_path_factory.mktemp("decided")
    rng = random.Random(3)
    offers = pl.DataFrame({
        "offer_id": [f"O{i:03d}" for i in range(80)],
        "description": [f"Ich helfe: {TOPICS[i % 8]} {rng.choice(TOPICS).split()[0]}" for i in range(80)],
        "plz": ["52062"] * 80,
    })
    needs = pl.DataFrame({"need_id": [f"N{i:02d}" for i in range(24)],
                          "description": [f"Wir suchen {TOPICS[i % 8]}" for i in range(24)], "plz": ["52062"] * 24})
    offers.write_csv(data_dir / "offers.csv")
    needs.write_csv(data_dir / "needs.csv")
    grades = {(n, o): 2 for n in needs["need_id"] for o, d in zip(offers["offer_id"], offers["description"])
              if TOPICS[int(n[1:]) % 8] in d}
    store, matcher, _, _ = fill_store(data_dir, grades)
    yield store, matcher, f"sqlite:///{data_dir / 'semmatch.db'}"
    store.close()


def triplets(n: int = 24) -> pl.DataFrame:
    topics = [("website wordpress", "grafik logo"), ("daten statistik python", "fahrdienst auto"),
              ("übersetzung arabisch", "nachhilfe mathe"), ("social instagram", "antrag formular")]
    rows = [(f"wir suchen {a}", f"ich helfe bei {a} {i}", f"ich helfe bei {b}" if i % 3 else None)
            for i in range(n) for a, b in [topics[i % 4]]]
    return pl.DataFrame(rows, schema=["anchor", "positive", "negative"], orient="row")


# --------------------------------------------------------------------------------------------- tuning
def test_config_from_coefficients_reproduces_the_logistic_model():
    coef, intercept = np.array([4.0, 1.0, 0.0, 2.0]), -3.0
    config = config_from_coefficients(MatchConfig(), coef, intercept)
    assert config.weight_dense == 1.0 and config.weight_lexical == 0.25 and config.weight_proximity == 0.5
    components = np.array([[0.8, 0.3, 1.0, 0.5], [0.2, 0.1, 0.0, 1.0]])
    from semmatch.match.scoring import fuse

    fused = fuse({n: components[:, i] for i, n in enumerate(("dense", "lexical", "skills", "proximity"))},
                 config.weights)
    percent = Calibration(config.calibration_slope, config.calibration_intercept).percent(fused)
    expected = 100 / (1 + np.exp(-(components @ coef + intercept)))
    assert np.allclose(percent, expected)


def test_grouped_folds_never_split_a_need():
    groups = np.array([f"N{i % 7}" for i in range(60)])
    folds = grouped_folds(groups, 5, seed=1)
    assert len(folds) == 5
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    assert sorted(np.concatenate([t for _, t in folds]).tolist()) == list(range(60))
    with pytest.raises(DataValidationError):
        grouped_folds(np.array(["N1", "N1"]))


def test_tune_weights_learns_a_loadable_config(decided, tmp_path):
    from semmatch.store.feedback import labels

    store, matcher, _ = decided
    frame = pair_components(matcher, store.records("needs"), labels(store))
    assert frame.filter(pl.col("grade").is_not_null()).height > 0 and frame["dense"].is_not_nan().all()
    result = tune_weights(store, matcher, name="learned", models_dir=tmp_path / "models", n_splits=4)
    assert result.path == tmp_path / "models" / "learned.json"
    loaded = resolve_config("learned", models_dir=tmp_path / "models")
    assert loaded == result.config == MatchConfig.load(result.path)
    assert loaded.weight_dense == 1.0 and all(w >= 0 for w in loaded.weights.as_dict().values())
    assert loaded.calibration_slope > 0  # the match % rises with the score
    percent = Calibration(loaded.calibration_slope, loaded.calibration_intercept).percent(np.linspace(0, 1, 11))
    assert (np.diff(percent) > 0).all()
    mean = result.cv["mean"]
    assert result.counts["folds"] == 4 and 0 <= mean["auc_learned"] <= 1 and mean["ndcg_at_10_current"] is not None
    assert sum(f["test_needs"] for f in result.cv["folds"]) == result.counts["needs"]
    with pytest.raises(ConfigError, match="exists"):
        tune_weights(store, matcher, name="learned", models_dir=tmp_path / "models")
    assert resolve_config(result.path) == loaded
    with pytest.raises(ConfigError, match="no config"):
        resolve_config("nope", models_dir=tmp_path / "models")


def test_names_are_checked():
    assert check_name("demo-weights_1.0") == "demo-weights_1.0"
    for bad in ("e5-small", "../x", "a/b", "", "x.json"):
        with pytest.raises(ConfigError):
            check_name(bad)


def test_tune_command(decided, tmp_path, monkeypatch):
    import semmatch.cli.train  # noqa: F401  (registers the commands until cli.py imports it)
    from semmatch.cli.main import main

    db = decided[2]
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["tune", "--db", db, "--name", "mine", "--folds", "3", "--no-track"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])["counts"]["folds"] == 3
    assert MatchConfig.load(tmp_path / "models" / "mine.json").calibration_slope > 0


# ---------------------------------------------------------------------------------------- fine-tuning
def test_finetune_pairs_on_a_tiny_model(tiny_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "tuned"
    result = finetune_pairs(str(tiny_model), triplets(), out, epochs=2, lr=5e-3, batch_size=8, seed=1)
    assert (out / "modules.json").is_file() and list(out.glob("*.safetensors"))
    assert result.triplets == 16 and result.pairs == 8 and result.steps > 0 and result.losses
    texts = ["wir suchen website", "ich helfe bei daten"]
    before = SentenceTransformer(str(tiny_model), device="cpu").encode(texts, prompt="query: ")
    after = SentenceTransformer(str(out), device="cpu").encode(texts, prompt="query: ")
    assert not np.allclose(before, after)
    from semmatch.embed.models import resolve_model

    assert resolve_model(str(out)).query_prompt == "query: " == resolve_model(str(out)).corpus_prompt
    with pytest.raises(ModelError, match="exists"):
        finetune_pairs(str(tiny_model), triplets(), out)
    with pytest.raises(DataValidationError):
        finetune_pairs(str(tiny_model), pl.DataFrame({"anchor": ["a"]}), tmp_path / "x")


def test_finetune_overwrite_replaces_only_its_own_folder(tiny_model, tmp_path):
    from semmatch.errors import FolderNotOwnedError

    out = tmp_path / "tuned"
    finetune_pairs(str(tiny_model), triplets(), out, epochs=1, lr=5e-3, batch_size=8, seed=1)
    finetune_pairs(str(tiny_model), triplets(), out, epochs=1, lr=5e-3, batch_size=8, seed=2, overwrite=True)
    assert (out / "modules.json").is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tuned.") and p.is_dir()]
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "thesis.txt").write_text("kapitel 1", encoding="utf-8")
    with pytest.raises(FolderNotOwnedError, match="thesis"):
        finetune_pairs(str(tiny_model), triplets(), user, epochs=1, lr=5e-3, batch_size=8, overwrite=True)
    assert (user / "thesis.txt").read_text(encoding="utf-8") == "kapitel 1"


def test_finetune_on_decisions_logs_to_mlflow(tiny_model, decided, tmp_path, monkeypatch):
    store = decided[0]
    rows, judged = decision_pairs(store)
    assert rows.height > 0 and rows["negative"].is_not_null().any()
    assert set(rows["need_id"]) <= set(judged.filter(pl.col("grade") >= 2)["need_id"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    report = finetune(store, name="tiny-tuned", base_model=str(tiny_model), models_dir=tmp_path / "models",
                      batch_size=8, max_steps=3, holdout=0.3)
    assert (tmp_path / "models" / "tiny-tuned" / "modules.json").is_file()
    from semmatch.eval.tracking import get_run

    run = get_run(report["run_id"])
    assert {"base_model", "pairs", "epochs", "lr", "batch_size", "seconds"} <= set(run["params"])
    assert "train_loss" in run["metrics"] and "after_pair_auc" in run["metrics"]
    import mlflow  # the model is registered as a version linked to that run

    version = mlflow.tracking.MlflowClient().get_model_version("tiny-tuned", report["model_version"])
    assert version.run_id == report["run_id"] and version.source.endswith("models/tiny-tuned")


@pytest.mark.model
def test_finetune_e5_small_keeps_the_prompts(tmp_path, monkeypatch):
    from semmatch.embed.models import resolve_model
    from semmatch.embed.sentence_transformers import SentenceTransformerEmbedder

    monkeypatch.chdir(tmp_path)
    pairs = triplets(32).drop("negative")
    result = finetune_pairs("e5-small", pairs, tmp_path / "models" / "e5-tuned", lr=2e-5, batch_size=16,
                            max_steps=2, seed=0)
    assert result.steps == 2 and result.prompt == "query: "
    info = resolve_model("e5-tuned")  # by name, from models/ in the working directory
    assert info.kind == "local" and info.query_prompt == info.corpus_prompt == "query: "
    embedder = SentenceTransformerEmbedder("e5-tuned")
    assert embedder.query_prompt == "query: " and embedder.embed(["Hilfe bei der Website"]).shape == (1, 384)
