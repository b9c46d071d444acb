"""Embedding: texts -> unit vectors (sentence-transformers, ONNX Runtime, USE), the cache, models and their
preparation, Ray."""
