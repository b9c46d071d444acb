"""The search strategies behind `VectorIndex.search` (which picks one per query batch and filter):

- FAISS with an optional bitmap selector (IVF probes more lists the fewer records a filter keeps);
- an exact scan of a small filter's vectors (ANN graphs lose recall under selective filters);
- over-fetch and verify on a flat index (a broad filter: FAISS's per-id selector path is slower), falling back to a
  masked matrix-vector product (float32) or the selector when too few allowed hits come back.
"""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

from semmatch.index.kinds import IndexKind


class FaissSearch:
    """Mixin for VectorIndex: needs `_index`, `_faiss_to_id`, `_next_id`, `_tombstones`, `kind`, `spec`, `params`,
    `dimension`, `__len__` and `_reconstruct`."""

    _index: Any
    _faiss_to_id: dict[int, str]
    _next_id: int
    _tombstones: set[int]
    kind: str
    storage: str
    params: dict[str, Any]
    dimension: int
    spec: IndexKind

    def _overfetch_search(self, queries: np.ndarray, k: int, allowed: np.ndarray, count: int
                          ) -> list[list[tuple[str, float]]]:
        """A broad filter on a flat index: fetch the unfiltered top k / share * 2 and keep the allowed hits. Exact
        whenever at least k allowed hits come back (the allowed top k are then all among them): FAISS's fast
        unfiltered scan, not its per-id selector path (about 4x slower). A query with fewer hits falls back to a
        masked matrix product (float32) or the selector (compressed storage)."""
        wide = min(len(self), math.ceil(2 * k * len(self) / count) + k)
        scores, fids = self._faiss_raw(queries, wide, None, None)
        results = []
        for query, row_scores, row_fids in zip(queries, scores, fids):
            keep = (row_fids >= 0) & allowed[np.maximum(row_fids, 0)]
            hits = self._hits(row_scores[keep][:k], row_fids[keep][:k])
            if len(hits) < min(k, count):
                fallback = self._masked_flat_search if self.storage == "float32" else self._faiss_search
                hits = fallback(query[None, :], k, allowed, count)[0]
            results.append(hits)
        return results

    def _faiss_raw(self, queries: np.ndarray, k: int, allowed: np.ndarray | None, count: int | None
                   ) -> tuple[np.ndarray, np.ndarray]:
        params = self._search_params(allowed, count)
        k_eff = min(k, len(self) if count is None else count)
        threads = faiss.omp_get_max_threads()
        if queries.shape[0] == 1:  # one query: a second thread costs more than it brings (memory-bound scan)
            faiss.omp_set_num_threads(1)
        try:
            return self._index.search(queries, k_eff, params=params)
        finally:
            faiss.omp_set_num_threads(threads)

    def _hits(self, scores: np.ndarray, fids: np.ndarray) -> list[tuple[str, float]]:
        return [(self._faiss_to_id[int(f)], float(s)) for s, f in zip(scores, fids)
                if f >= 0 and int(f) in self._faiss_to_id]

    def _faiss_search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None, count: int | None = None
                      ) -> list[list[tuple[str, float]]]:
        scores, fids = self._faiss_raw(queries, k, allowed, count)
        return [self._hits(row_scores, row_fids) for row_scores, row_fids in zip(scores, fids)]

    def _masked_flat_search(self, queries: np.ndarray, k: int, allowed: np.ndarray, count: int
                            ) -> list[list[tuple[str, float]]]:
        """Exact search under a filter that keeps many records: one matrix-vector product over the stored float32
        vectors (a view, no copy), filtered rows masked out. FAISS's per-id selector path is ~4x slower here."""
        flat = faiss.downcast_index(self._index.index)
        stored = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dimension).reshape(flat.ntotal, self.dimension)
        labels = faiss.vector_to_array(self._index.id_map)
        keep = allowed[labels]
        k = min(k, count)
        results = []
        for query in queries:
            scores = stored @ query
            scores[~keep] = -np.inf
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.lexsort((labels[top], -scores[top]))]
            results.append([(self._faiss_to_id[int(labels[i])], float(scores[i])) for i in top])
        return results

    def _exact_subset_search(self, queries: np.ndarray, k: int, fids: np.ndarray) -> list[list[tuple[str, float]]]:
        """Exact scan over the allowed ids only: ANN graphs lose most recall under selective filters."""
        scores = queries @ self._reconstruct(fids).T
        results = []
        for row in scores:
            top = np.argsort(-row, kind="stable")[:k]
            results.append([(self._faiss_to_id[int(fids[i])], float(row[i])) for i in top])
        return results

    def _search_params(self, allowed: np.ndarray | None, count: int | None) -> Any:
        selector = None
        if allowed is not None:  # live ids only, so tombstones are excluded too
            bitmap = np.packbits(allowed, bitorder="little")
            selector = faiss.IDSelectorBitmap(bitmap.size, faiss.swig_ptr(bitmap))  # size in bytes
            selector._bitmap_ref = bitmap  # FAISS reads the numpy buffer: keep it alive
        elif self._tombstones:
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.asarray(sorted(self._tombstones), np.int64)))
        params = self.spec.search_parameters(self.params, len(self), count)
        if selector is not None:
            params.sel = selector
            params._selector_ref = selector  # keep the selector alive for the duration of the search
        return params
