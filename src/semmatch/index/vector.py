"""VectorIndex: FAISS inner-product search over unit vectors, keyed by the user's string ids.

Kinds (specs in `semmatch.index.kinds`): "flat" (exact, this class's default), "hnsw" (graph ANN), "ivf" (inverted
lists ANN) and "auto" (the matcher's default: exact up to `auto_exact_max` records, ivf above, chosen when the index is
first filled). Search-time settings (hnsw_ef_search, ivf_nprobe) can change on a built index: `set_search_params`.
Storage: float32, fp16 (half the memory), sq8 (a quarter) or pq (ivf only, 48 bytes a vector). Records can be
added, updated and removed one at a time without a rebuild. Filtered searches stay correct: a filter keeping few
records is scanned exactly; a larger one is passed to FAISS as a bitmap selector (an ivf index probes more lists,
an hnsw index widens its beam, the fewer records it keeps).
Saved as files: the FAISS index, JSON metadata (model, dimension, prompts,
created time, checksums) and the id map as parquet. Never pickle.
"""

from __future__ import annotations

import json
import numbers
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import polars as pl

from semmatch.atomic import FolderFormat, atomic_directory, check_replaceable, file_sha256, read_consistently
from semmatch.errors import ConfigError, DataValidationError, IndexCorruptError, IndexMismatchError, UnknownIdError
from semmatch.index.kinds import SEARCH_PARAMS, IndexKind, check_layout, index_kind
from semmatch.index.search import FaissSearch

FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
META_FILE = "index.json"
IDS_FILE = "ids.parquet"
INDEX_FORMAT = "semmatch-index"
UNCHECKED_FILES = {META_FILE, "sentences.npy", "sentences.parquet"}  # the sentence table: derived, rebuilt when missing
INDEX_FOLDER = FolderFormat(  # index.json names the folder's files; older folders: the files semmatch wrote there
    what="semmatch index folder", marker=META_FILE, key="format", value=INDEX_FORMAT,
    legacy_keys=frozenset({"format_version", "model_id", "dimension", "kind", "checksums"}),
    legacy_checked=frozenset({IDS_FILE}),
    legacy_files=frozenset({INDEX_FILE, META_FILE, IDS_FILE, "sentences.npy", "sentences.parquet", "records.parquet",
                            "matcher.json"}))
FLAT_MASK_MIN_SHARE = 0.05  # a filter keeping more than this share of a flat index: over-fetch and verify


class VectorIndex(FaissSearch):
    """String-id vector index over FAISS. Scores are inner products (cosine for unit vectors)."""

    def __init__(
        self,
        dimension: int,
        *,
        kind: str = "flat",
        model_id: str = "",
        prompts: dict[str, str] | None = None,
        storage: str = "float32",
        hnsw_m: int = 32,
        hnsw_ef_construction: int = 200,
        hnsw_ef_search: int = 256,
        ivf_nlist: int | None = None,
        ivf_nprobe: int | None = None,
        auto_exact_max: int = 200_000,
    ):
        check_layout(index_kind(kind), storage, dimension)
        self.dimension = int(dimension)
        self.kind = kind
        self.storage = storage
        self.model_id = model_id
        self.prompts = dict(prompts or {})
        self.params = {
            "hnsw_m": hnsw_m, "hnsw_ef_construction": hnsw_ef_construction, "hnsw_ef_search": hnsw_ef_search,
            "ivf_nlist": ivf_nlist, "ivf_nprobe": ivf_nprobe, "auto_exact_max": auto_exact_max,
        }
        self.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._index: Any = None
        self._id_to_faiss: dict[str, int] = {}
        self._faiss_to_id: dict[int, str] = {}
        self._tombstones: set[int] = set()  # hnsw cannot delete: removed faiss ids are filtered out at search
        self._next_id = 0

    # ----------------------------------------------------------------- state
    def __len__(self) -> int:
        return len(self._id_to_faiss)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._id_to_faiss

    @property
    def ids(self) -> list[str]:
        """External ids in insertion order of their current vectors."""
        return [self._faiss_to_id[f] for f in sorted(self._faiss_to_id)]

    @property
    def spec(self) -> IndexKind:
        """How this index's kind is built and searched (see `semmatch.index.kinds`)."""
        return index_kind(self.kind)

    def _new_faiss_index(self, train_vectors: np.ndarray) -> Any:
        spec = self.spec.resolve(train_vectors.shape[0], self.storage, self.params)  # auto decides here
        index = spec.build(self.dimension, self.storage, self.params, train_vectors)
        spec.apply_search_params(index, self.params)
        self.kind = spec.name
        return index

    def set_search_params(self, *, hnsw_ef_search: int | None = None, ivf_nprobe: int | None = None) -> None:
        """Change the search-time settings of a built or loaded index: applied to the live FAISS index and kept in
        `params`, so a save keeps them. A setting the index's kind does not use (ivf_nprobe on a flat or hnsw index,
        hnsw_ef_search on anything but hnsw) or a value that is not a positive integer raises ConfigError, and then
        nothing changes. None leaves a setting as it is."""
        given = {name: value for name, value in zip(SEARCH_PARAMS, (hnsw_ef_search, ivf_nprobe)) if value is not None}
        spec = self.spec
        for name, value in given.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, not {value!r}")
            if name not in spec.search_params:
                takes = ", ".join(spec.search_params) or "no search-time setting"
                raise ConfigError(f"{name} does not apply to a {self.kind} index (it takes {takes}); rebuild the "
                                  "index with another index_kind to use it")
        self.params.update({name: int(value) for name, value in given.items()})
        if self._index is not None:
            spec.apply_search_params(self._index, self.params)

    def _check_vectors(self, vectors: np.ndarray, n: int) -> np.ndarray:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (n, self.dimension):
            raise DataValidationError(f"expected vectors of shape ({n}, {self.dimension}), got {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise DataValidationError("vectors contain NaN or infinite values")
        return vectors

    # ------------------------------------------------------------- mutation
    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add new records. An id already present is an error (use `upsert` or `update`)."""
        ids = [str(i) for i in ids]
        vectors = self._check_vectors(vectors, len(ids))
        if len(set(ids)) != len(ids):
            raise DataValidationError("duplicate ids in one add() call")
        present = [i for i in ids if i in self._id_to_faiss]
        if present:
            raise DataValidationError(f"ids already in the index: {present[:5]} (use update or upsert)")
        if not ids:
            return
        if self._index is None:
            self._index = self._new_faiss_index(vectors)
        faiss_ids = np.arange(self._next_id, self._next_id + len(ids), dtype=np.int64)
        self._index.add_with_ids(vectors, faiss_ids)
        self._next_id += len(ids)
        for record_id, fid in zip(ids, faiss_ids.tolist()):
            self._id_to_faiss[record_id] = fid
            self._faiss_to_id[fid] = record_id

    def remove(self, ids: Iterable[str]) -> None:
        """Remove records by id; an unknown id is an error and nothing is removed."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        unknown = [i for i in ids if i not in self._id_to_faiss]
        if unknown:
            raise UnknownIdError(f"not in the index: {unknown[:5]}")
        fids = [self._id_to_faiss.pop(i) for i in ids]
        for fid in fids:
            del self._faiss_to_id[fid]
        if self.spec.tombstones:
            self._tombstones.update(fids)
        elif fids:
            self._index.remove_ids(np.asarray(fids, dtype=np.int64))

    def update(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Replace the vectors of existing records."""
        ids = [str(i) for i in ids]
        vectors = self._check_vectors(vectors, len(ids))
        if len(set(ids)) != len(ids):
            raise DataValidationError("duplicate ids in one update() call")
        unknown = [i for i in ids if i not in self._id_to_faiss]
        if unknown:
            raise UnknownIdError(f"not in the index: {unknown[:5]}")
        if not self._overwrite_in_place(ids, vectors):
            self.remove(ids)
            self.add(ids, vectors)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add new records and replace existing ones."""
        ids = [str(i) for i in ids]
        vectors = self._check_vectors(vectors, len(ids))
        if len(set(ids)) != len(ids):
            raise DataValidationError("duplicate ids in one upsert() call")
        present = np.fromiter((i in self._id_to_faiss for i in ids), bool, len(ids))
        if present.any():
            self.update([i for i, p in zip(ids, present) if p], vectors[present])
        if not present.all():
            self.add([i for i, p in zip(ids, present) if not p], vectors[~present])

    def _overwrite_in_place(self, ids: list[str], vectors: np.ndarray) -> bool:
        """Replace stored float32 vectors of a flat index where they lie, keeping their FAISS ids: O(changed)
        instead of FAISS's O(n) removal. Returns False where that is not possible (the caller removes and adds)."""
        if not self.spec.exhaustive or self.storage != "float32" or self._index is None:
            return False
        labels = faiss.vector_to_array(self._index.id_map)  # increasing: ids are only ever appended
        fids = self.faiss_ids(ids)
        rows = np.searchsorted(labels, fids)
        if rows.size and (rows.max() >= labels.size or not np.array_equal(labels[rows], fids)):
            return False
        flat = faiss.downcast_index(self._index.index)
        stored = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dimension).reshape(flat.ntotal, self.dimension)
        stored[rows] = vectors
        return True

    def compact(self) -> None:
        """Rebuild an index whose kind keeps tombstones (hnsw) without them, so removed vectors are gone from the
        file too."""
        if not self.spec.tombstones or not self._tombstones:
            return
        ids = self.ids
        vectors = self.vectors(ids)
        self._index, self._id_to_faiss, self._faiss_to_id, self._tombstones, self._next_id = None, {}, {}, set(), 0
        self.add(ids, vectors)

    def vector(self, record_id: str) -> np.ndarray:
        if record_id not in self._id_to_faiss:
            raise UnknownIdError(f"not in the index: {record_id!r}")
        return self._index.reconstruct(self._id_to_faiss[record_id])

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of several records, in the order given."""
        if not len(ids):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._reconstruct(self.faiss_ids([str(i) for i in ids]))

    def _reconstruct(self, fids: np.ndarray) -> np.ndarray:
        """Stored vectors by internal id, in one FAISS call."""
        return self._index.reconstruct_batch(np.ascontiguousarray(fids, dtype=np.int64))

    def faiss_ids(self, ids: Sequence[str]) -> np.ndarray:
        """Internal int64 ids of records (for `search(allowed_faiss_ids=...)`); unknown ids raise."""
        unknown = [i for i in ids if i not in self._id_to_faiss]
        if unknown:
            raise UnknownIdError(f"not in the index: {unknown[:5]}")
        return np.fromiter((self._id_to_faiss[i] for i in ids), dtype=np.int64, count=len(ids))

    # --------------------------------------------------------------- search
    def search(
        self, queries: np.ndarray, k: int = 10, allowed_ids: Iterable[str] | None = None,
        allowed_faiss_ids: np.ndarray | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Top-k (id, score) lists per query row, best first.

        `allowed_ids` (external ids) or `allowed_faiss_ids` (from `faiss_ids`) restrict the search inside FAISS, so
        every allowed record can be found however many others score higher.
        """
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a positive integer, not {k!r}")
        queries = np.atleast_2d(np.ascontiguousarray(queries, dtype=np.float32))
        if queries.shape[1] != self.dimension:
            raise DataValidationError(f"query dimension {queries.shape[1]} does not match the index ({self.dimension})")
        if self._index is None or len(self) == 0:
            return [[] for _ in range(queries.shape[0])]
        allowed: np.ndarray | None = None  # boolean mask over FAISS ids
        if allowed_ids is not None:
            fids = [self._id_to_faiss[i] for i in set(map(str, allowed_ids)) if i in self._id_to_faiss]
            allowed = np.zeros(self._next_id, dtype=bool)
            allowed[np.asarray(fids, dtype=np.int64)] = True
        elif allowed_faiss_ids is not None:  # trusted: live ids from `faiss_ids`
            allowed = np.zeros(self._next_id, dtype=bool)
            allowed[np.asarray(allowed_faiss_ids, dtype=np.int64)] = True
        if allowed is None:
            return self._faiss_search(queries, k, None)
        count = int(allowed.sum())
        if count == 0:
            return [[] for _ in range(queries.shape[0])]
        spec = self.spec
        if count <= spec.exact_subset_max:
            return self._exact_subset_search(queries, k, np.flatnonzero(allowed))
        if spec.exhaustive and count > FLAT_MASK_MIN_SHARE * len(self):
            return self._overfetch_search(queries, k, allowed, count)
        return self._faiss_search(queries, k, allowed, count)

    # ---------------------------------------------------------- persistence
    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION, "model_id": self.model_id, "dimension": self.dimension,
            "prompts": self.prompts, "kind": self.kind, "storage": self.storage, "params": self.params,
            "created_at": self.created_at,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "count": len(self),
            "next_id": self._next_id, "tombstones": sorted(self._tombstones),
            "format": INDEX_FORMAT, "generation": uuid.uuid4().hex,  # readers: one generation per save
        }

    def save(self, directory: str | Path) -> Path:
        """Write the index folder atomically (a crash leaves the previous version in place), holding its lock. An
        existing folder is replaced only when it is a semmatch index folder or empty (see `semmatch.atomic`)."""
        with atomic_directory(directory, INDEX_FOLDER) as staging:
            self.write_files(staging)
        return Path(directory)

    def write_files(self, folder: Path) -> None:
        """Write the index files into a staging folder, index.json last, with the checksums of the files already in
        it (the Matcher writes records and settings first)."""
        if self._index is not None:
            faiss.write_index(self._index, str(folder / INDEX_FILE))
        pl.DataFrame(
            {"faiss_id": list(self._faiss_to_id), "id": list(self._faiss_to_id.values())},
            schema={"faiss_id": pl.Int64, "id": pl.String},
        ).write_parquet(folder / IDS_FILE)
        meta = self.metadata()
        meta["checksums"] = {path.name: file_sha256(path) for path in sorted(folder.iterdir())
                             if path.is_file() and path.name not in UNCHECKED_FILES}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, expected_model_id: str | None = None) -> VectorIndex:
        """Read an index folder; refuse a corrupted one, or one built by another model than `expected_model_id`.
        A save by another process meanwhile is waited out: the files read are of one generation."""
        return read_consistently(directory, lambda: cls.read_files(Path(directory), expected_model_id), INDEX_FOLDER)

    @classmethod
    def read_files(cls, directory: Path, expected_model_id: str | None = None) -> VectorIndex:
        """Read the index files of a folder, once (`load` makes sure they were of one generation)."""
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise IndexCorruptError(f"{directory} holds no {META_FILE}: not a semmatch index (build one with "
                                    "`semmatch index`)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"{meta_path} is not valid JSON ({exc}); rebuild with `semmatch index`") from exc
        if not isinstance(meta, dict):
            raise IndexCorruptError(f"{meta_path} must hold a JSON object; rebuild the index with `semmatch index`")
        if isinstance(meta.get("format_version"), int) and meta["format_version"] > FORMAT_VERSION:
            raise IndexCorruptError(f"{directory} was written by a newer semmatch (index format "
                                    f"{meta['format_version']}); update semmatch or rebuild the index")
        if expected_model_id is not None and meta.get("model_id") != expected_model_id:
            raise IndexMismatchError(
                f"index {directory} was built with model {meta.get('model_id')!r}, not {expected_model_id!r}. "
                f"Rebuild it with the new model: semmatch index <records file> --out {directory} --model <name>, "
                "or load it with the model that built it."
            )
        for name, expected in meta.get("checksums", {}).items():
            path = directory / name
            if not path.is_file() or file_sha256(path) != expected:
                raise IndexCorruptError(f"{path} is missing or does not match its checksum; rebuild the index with "
                                        "`semmatch index`")
        try:
            index = cls(int(meta["dimension"]), kind=meta["kind"], model_id=str(meta.get("model_id", "")),
                        prompts=meta.get("prompts"), storage=meta.get("storage", "float32"), **meta.get("params", {}))
            index.created_at = str(meta.get("created_at", index.created_at))
            index._next_id = int(meta.get("next_id", 0))
            index._tombstones = set(int(t) for t in meta.get("tombstones", []))
        except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
            raise IndexCorruptError(f"{meta_path} has missing or invalid fields ({exc!r}); rebuild the index with "
                                    "`semmatch index`") from exc
        if (directory / INDEX_FILE).is_file():
            index._index = faiss.read_index(str(directory / INDEX_FILE))
            index.spec.apply_search_params(index._index, index.params)  # folders saved before the live setting
        ids = pl.read_parquet(directory / IDS_FILE)
        index._faiss_to_id = dict(zip(ids["faiss_id"].to_list(), ids["id"].to_list()))
        index._id_to_faiss = {v: k for k, v in index._faiss_to_id.items()}
        if index._index is not None and index._index.ntotal != len(index) + len(index._tombstones):
            raise IndexCorruptError(f"{directory}: FAISS holds {index._index.ntotal} vectors but the id map "
                                    f"{len(index)}; rebuild the index with `semmatch index`")
        return index


def check_index_folder(directory: str | Path) -> None:
    """Refuse, before any work, an output folder that is not new, empty or a semmatch index folder (FolderNotOwnedError
    names it); nothing is touched."""
    check_replaceable(directory, INDEX_FOLDER)
