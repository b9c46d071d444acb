"""semmatch: match help offered to help needed in the civic sector."""

from semmatch.config import DEFAULT_MODEL, MatchConfig
from semmatch.embed.base import Embedder
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.registry import make_embedder
from semmatch.embed.sentence_transformers import SentenceTransformerEmbedder
from semmatch.errors import (
    ConfigError,
    DataValidationError,
    IndexCorruptError,
    IndexMismatchError,
    MissingDependencyError,
    ModelError,
    NotFittedError,
    SemmatchError,
    UnknownIdError,
)
from semmatch.index.vector import VectorIndex
from semmatch.match.criteria import Criteria
from semmatch.match.matcher import Matcher
from semmatch.records.schema import ColumnMapping, load_records, validate_records

__version__ = "0.1.0"
__all__ = [
    "DEFAULT_MODEL",
    "ColumnMapping",
    "ConfigError",
    "Criteria",
    "DataValidationError",
    "Embedder",
    "EmbeddingCache",
    "IndexCorruptError",
    "IndexMismatchError",
    "MatchConfig",
    "Matcher",
    "MissingDependencyError",
    "ModelError",
    "NotFittedError",
    "SemmatchError",
    "SentenceTransformerEmbedder",
    "UnknownIdError",
    "VectorIndex",
    "load_records",
    "make_embedder",
    "validate_records",
]
