"""The fast CPU path: a sentence-transformers model exported to ONNX and run with ONNX Runtime, fp32 or int8.

Selected by name: `e5-small-int8` (the default model, int8) or `<model>@int8` / `<model>@onnx` for any transformer
model with mean pooling, fine-tuned folders included. The export runs once per model into the cache folder:
`torch.onnx.export(dynamo=True)` of the transformer (eager attention) plus mean pooling, then
`onnxruntime.quantization.quantize_dynamic` with signed 8-bit weights, per channel; on a CPU without VNNI the weights
use 7 bits ("reduce_range"), as ONNX Runtime advises, since the AVX2 int8 instructions saturate otherwise. Vectors
carry their own model id (which names the recipe), so int8 and fp32 vectors never share an index or a cache entry.
Parity with fp32: tests/test_onnx.py.

Activations are quantized per batch, so a text's int8 vector moves slightly (cosine ~0.999) with its batch-mates.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from semmatch.atomic import FolderFormat, atomic_directory
from semmatch.errors import ModelError, require

log = logging.getLogger(__name__)

ONNX_FOLDER = FolderFormat(what="semmatch ONNX model folder", marker="semmatch_onnx.json", key="semmatch_format",
                           value="semmatch-onnx", legacy_keys=frozenset({"source", "recipe", "max_length"}))
ONNX_RECIPE_VERSION = "3"  # 3: eager attention (no SDPA mask/NaN guards in the graph)
FP32_FILE = "model.onnx"
VNNI_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8"}


def cpu_has_vnni() -> bool:
    """Whether this x86 CPU has the int8 dot-product instructions (other architectures: True, no saturation)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), None)
    return True if flags is None else bool(VNNI_FLAGS & set(flags))


def int8_variant() -> str:
    """The int8 recipe for this CPU: "int8" (8-bit weights) or "int8rr" (7-bit weights, no VNNI)."""
    return "int8" if cpu_has_vnni() else "int8rr"


def int8_file() -> str:
    return f"model-{int8_variant()}.onnx"
def _require(module: str) -> Any:
    return require(module, extra="onnx", feature="the ONNX Runtime path")


def _mean_pooling_checked(folder: Path) -> int:
    """The model's max sequence length; refuses models whose pooling is not mean pooling."""
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file():
        config = json.loads(pooling.read_text(encoding="utf-8"))
        mean = config.get("pooling_mode") == "mean" or config.get("pooling_mode_mean_tokens", False)
        if not mean or config.get("include_prompt") is False:
            raise ModelError(f"{folder}: the ONNX path supports mean pooling only, this model pools otherwise")
    bert = folder / "sentence_bert_config.json"
    if bert.is_file():
        return int(json.loads(bert.read_text(encoding="utf-8")).get("max_seq_length") or 512)
    return 512


def export_onnx(source: Path, target: Path) -> None:
    """Export a sentence-transformers folder (transformer + mean pooling) to ONNX fp32 and int8, atomically."""
    import torch

    _require("onnx")
    _require("onnxscript")
    quantization = _require("onnxruntime.quantization")
    from transformers import AutoModel

    max_length = _mean_pooling_checked(source)
    # Eager attention exports as matmul + mask + softmax; the SDPA form adds NaN guards (Where, IsNaN) and
    # slicing that took ~12 % of an int8 pass (evaluation/README.md, node time by operator). Same arithmetic.
    model = AutoModel.from_pretrained(str(source), use_safetensors=True, attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with atomic_directory(target, ONNX_FOLDER) as staging:
        torch.onnx.export(
            MeanPooled(model), example, str(staging / FP32_FILE), dynamo=True, external_data=False, verbose=False,
            input_names=["input_ids", "attention_mask"], output_names=["pooled_output"],
            dynamic_shapes={"input_ids": {0: batch, 1: sequence}, "attention_mask": {0: batch, 1: sequence}},
        )
        quantization.quantize_dynamic(
            str(staging / FP32_FILE), str(staging / int8_file()), weight_type=quantization.QuantType.QInt8,
            per_channel=True, reduce_range=int8_variant() == "int8rr",
        )
        tokenizer = source / "tokenizer.json"
        if not tokenizer.is_file():
            raise ModelError(f"{source} has no tokenizer.json (a fast tokenizer is needed for the ONNX path)")
        (staging / "tokenizer.json").write_bytes(tokenizer.read_bytes())
        (staging / "semmatch_onnx.json").write_text(json.dumps(
            {"source": str(source), "recipe": ONNX_RECIPE_VERSION, "max_length": max_length}, indent=2),
            encoding="utf-8")
