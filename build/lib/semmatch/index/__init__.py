"""Vector search: the FAISS index over unit vectors and the indexed records' sentence vectors."""
