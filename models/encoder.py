"""Load an encoder (Wegwijzer base directory, any local HF directory or a hub id)
and embed text with mean pooling + L2 normalisation, e5 style."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

QUERY, PASSAGE = "query: ", "passage: "


def load_tokenizer(name_or_path: str | Path):  # noqa: ANN201 - transformers tokenizer
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    path = Path(name_or_path)
    if path.is_dir() and (path / "tokenizer.json").is_file() and not (path / "sentencepiece.bpe.model").exists():
        return PreTrainedTokenizerFast.from_pretrained(str(path))
    return AutoTokenizer.from_pretrained(str(name_or_path))


def load_transformer(name_or_path: str | Path):  # noqa: ANN201 - transformers model
    """The bare encoder (no pooler) from a local directory or a hub id."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(name_or_path))
    kwargs = {"add_pooling_layer": False} if config.model_type in ("bert", "xlm-roberta", "roberta") else {}
    return AutoModel.from_pretrained(str(name_or_path), **kwargs)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1) if normalize else pooled


class Encoder:
    """Minimal torch encoder used by training and the reference benchmark."""

    def __init__(self, name_or_path: str | Path, max_length: int = 256) -> None:
        self.tokenizer = load_tokenizer(name_or_path)
        self.model = load_transformer(name_or_path).eval()
        self.max_length = max_length

    def embed(self, texts: list[str], prefix: str = QUERY, batch_size: int = 32) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = [prefix + t for t in texts[i:i + batch_size]]
                enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                     return_tensors="pt")
                hidden = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                out.append(mean_pool(hidden, enc["attention_mask"]).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size), np.float32)
