"""What a user could run instead of Wegwijzer's model: the plain 12-layer base e5-small
(models/base), mean-pooled, with the transformers tokenizer, in

- PyTorch fp32 (transformers AutoModel), the unoptimised reference;
- onnxruntime on the base exported to fp32 ONNX, default session options: what
  sentence-transformers' `backend="onnx"` runs (optimum's ORTModelForFeatureExtraction);
- OpenVINO on the same ONNX file, default compile options (bf16 on AMX CPUs): what
  `backend="openvino"` runs (optimum-intel's OVModelForFeatureExtraction).

sentence-transformers' own backends cannot be installed here: optimum-onnx 0.1 pins
transformers < 4.58 and optimum-intel 2.2 pins transformers < 5.6, while training uses
transformers 5.25. The same runtimes are therefore driven directly, on the same exported graph
those libraries would build (torch.onnx export of the AutoModel, no graph optimisation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CACHE = Path("bench/.cache")


class Plain:
    name = ""

    def __init__(self, base: Path, max_length: int = 128) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(base))
        self.max_length = max_length

    def tokens(self, texts: list[str]) -> dict[str, np.ndarray]:
        enc = self.tokenizer(["query: " + t for t in texts], padding=True, truncation=True,
                             max_length=self.max_length, return_tensors="np")
        return {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}

    @staticmethod
    def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = mask[..., None].astype(np.float32)
        emb = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class PlainTorch(Plain):
    name = "PyTorch fp32, plain e5-small (12 layers)"

    def __init__(self, base: Path, threads: int, max_length: int = 128) -> None:
        import torch
        from transformers import AutoModel

        super().__init__(base, max_length)
        torch.set_num_threads(threads)
        self.model = AutoModel.from_pretrained(str(base)).eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        feeds = self.tokens(texts)
        with torch.inference_mode():
            hidden = self.model(input_ids=torch.from_numpy(feeds["input_ids"]),
                                attention_mask=torch.from_numpy(feeds["attention_mask"])).last_hidden_state
        return self.pool(hidden.numpy(), feeds["attention_mask"])


def export_base_onnx(base: Path, out: Path) -> Path:
    """The base AutoModel as fp32 ONNX (input_ids, attention_mask -> last_hidden_state), cached."""
    if out.is_file():
        return out
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(base), attn_implementation="eager").eval()
    ids = torch.tensor([[0, 100, 200, 2], [0, 150, 2, 1]])
    out.parent.mkdir(parents=True, exist_ok=True)

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"}}
    with torch.inference_mode():
        torch.onnx.export(Hidden(), (ids, (ids != 1).long()), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    return out


class PlainOnnx(Plain):
    name = "onnxruntime fp32, plain e5-small (sentence-transformers backend='onnx')"

    def __init__(self, base: Path, onnx_file: Path, max_length: int = 128) -> None:
        import onnxruntime as ort

        super().__init__(base, max_length)
        self.session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])

    def embed(self, texts: list[str]) -> np.ndarray:
        feeds = self.tokens(texts)
        return self.pool(self.session.run(None, feeds)[0], feeds["attention_mask"])


class PlainOpenVino(Plain):
    name = "OpenVINO default precision, plain e5-small (sentence-transformers backend='openvino')"

    def __init__(self, base: Path, onnx_file: Path, max_length: int = 128) -> None:
        import openvino as ov

        super().__init__(base, max_length)
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(onnx_file)), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.request = self.compiled.create_infer_request()

    def embed(self, texts: list[str]) -> np.ndarray:
        feeds = self.tokens(texts)
        self.request.infer(feeds)
        return self.pool(self.request.get_output_tensor(0).data, feeds["attention_mask"])
