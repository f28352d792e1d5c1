"""Export the multi-task model to one ONNX graph (head logits + pooled, normalised
embedding) and quantise it to int8 with onnxruntime (dynamic, per-channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.model import MultiTaskModel

OPSET = 17


class _Exportable(torch.nn.Module):
    def __init__(self, model: MultiTaskModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model(input_ids, attention_mask)


def export_onnx(model: MultiTaskModel, path: Path, quantize: bool = True) -> Path:
    model = model.eval()
    model.encoder.config._attn_implementation = "eager"  # plain ops export cleanly
    heads = model.heads_order
    outputs = [f"logits_{h}" for h in heads] + ["embedding"]
    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 150, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({o: {0: "batch"} for o in outputs})
    fp32 = path.with_name(path.stem + ".fp32.onnx")
    with torch.inference_mode():
        torch.onnx.export(_Exportable(model), (ids, mask), str(fp32), input_names=["input_ids", "attention_mask"],
                          output_names=outputs, dynamic_axes=axes, opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)
    if not quantize:
        fp32.replace(path)
        return path
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=ffn_output_matmuls(fp32))
    fp32.unlink()
    return path


def ffn_output_matmuls(model_path: Path) -> list[str]:
    """The FFN down-projections (GELU output -> hidden) stay fp32: their inputs have
    outlier activations that per-tensor dynamic int8 quantisation crushes. Measured on
    the 6-layer model's test split: embedding cosine min 0.941 with them quantised,
    0.992 without, for 11 MB more."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    return [n.name for n in graph.node
            if n.op_type == "MatMul" and n.name.endswith("/output/dense/MatMul") and "/attention/" not in n.name]


def parity(model: MultiTaskModel, onnx_path: Path, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    """Argmax agreement per head and embedding cosine between torch fp32 and the ONNX graph."""
    import onnxruntime as ort

    if not batches:
        return {"note": "no posts to compare"}
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    agree: dict[str, list[np.ndarray]] = {h: [] for h in model.heads_order}
    cos: list[np.ndarray] = []
    model.eval()
    with torch.inference_mode():
        for ids, mask in batches:
            ref = [t.numpy() for t in model(ids, mask)]
            got = dict(zip(names, sess.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}),
                           strict=True))
            for i, h in enumerate(model.heads_order):
                agree[h].append(ref[i].argmax(1) == got[f"logits_{h}"].argmax(1))
            cos.append((ref[-1] * got["embedding"]).sum(1))
    c = np.concatenate(cos) if cos else np.ones(1)
    return {"argmax_agreement": {h: float(np.concatenate(v).mean()) for h, v in agree.items()},
            "embedding_cosine_min": float(c.min()), "embedding_cosine_mean": float(c.mean())}
