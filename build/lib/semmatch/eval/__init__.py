"""Evaluation: metrics, benchmarks, MLflow tracking, training, notebook helpers, simulation, load tests."""
