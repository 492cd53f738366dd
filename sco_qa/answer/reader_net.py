"""The reader's network in torch (for training and for the one-off ONNX export): the bundled
MiniLM body reading question and sentence together, a pair head (does this sentence hold
the answer; how strongly does it say there is none) and a phrase head (start and end of
the answer inside the sentence).

The embeddings (and the lowest ``frozen`` layers, if any) stay as the bundled weights; only
the layers above and the heads are trained and stored (in half precision: ~21 MB with all six
layers trained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..durable import replace_atomically
from ..embedding.base import model_path, offline

#: transformer layers kept as bundled (of 6). benchmarks/reader_layers.py (fold 0's six
#: held-out articles, readers trained 0.3 epoch on the other twelve, the answer scorer's best
#: 6 candidates): the reader's first choice holds the answer for 0.607 of answerable questions
#: with none frozen, 0.335 with 3 frozen; training takes about 1.2 times as long
FROZEN_LAYERS = 0
#: the stored weights' precision: half, which the loader widens back to float
STORED_DTYPE = "float16"


def build_net(frozen: int = FROZEN_LAYERS) -> Any:
    """A ReaderNet on the bundled weights, its lower ``frozen`` layers and embeddings
    fixed."""
    import torch
    from transformers import AutoModel

    offline()

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = AutoModel.from_pretrained(str(model_path()), local_files_only=True)
            width = int(self.body.config.hidden_size)
            self.pair = torch.nn.Linear(width, 2)  # answer logit, null logit
            self.phrase = torch.nn.Linear(width, 2)  # start, end logits per token
            self.frozen = frozen

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.body(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            pair = self.pair(pooled)
            phrase = self.phrase(hidden)
            return pair, phrase[..., 0], phrase[..., 1]

    net = ReaderNet()
    for p in net.body.embeddings.parameters():
        p.requires_grad = False
    for layer in net.body.encoder.layer[:frozen]:
        for p in layer.parameters():
            p.requires_grad = False
    return net


def trained_state(net: Any) -> dict[str, Any]:
    """The tensors training changes (what the artifact stores), in half precision."""
    import torch

    names = {n for n, p in net.named_parameters() if p.requires_grad}
    return {
        n: t.detach().to(getattr(torch, STORED_DTYPE)).contiguous()
        for n, t in net.state_dict().items()
        if n in names
    }


def save_weights(net: Any, path: Path) -> None:
    """The trained tensors as safetensors (no pickle), written whole or not at all."""
    from safetensors.torch import save

    replace_atomically(path, save(trained_state(net)))


def load_weights(path: Path, frozen: int) -> Any:
    """A ReaderNet with the stored tensors over the bundled weights, in eval mode."""
    from safetensors.torch import load_file

    net = build_net(frozen)
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    missing = set(trained_state(net)) - set(state)
    if missing:
        raise ValueError(f"the reader weights lack {len(missing)} tensors ({min(missing)})")
    net.load_state_dict(state, strict=False)
    return net.eval()
