"""tracr-compiled models (Lindner et al. 2023) as third-party ground truth that runs offline:
auto-circuit compiles ``reverse`` and ``xproportion`` with tracr and converts them to TransformerLens."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformer_lens import HookedTransformer


@dataclass(frozen=True)
class TracrCodec:
    """Maps task symbols to the compiled model's input ids and output indices."""

    key: str
    assembled: Any  # tracr AssembledTransformerModel

    def encode(self, symbols: list) -> list[int]:
        return list(self.assembled.input_encoder.encode(["BOS", *symbols]))

    def output_index(self, symbol: Any) -> int:
        return int(self.assembled.output_encoder.encoding_map[symbol])


def load(key: str, device: str) -> tuple[HookedTransformer, TracrCodec]:
    from auto_circuit.model_utils.tracr_model_utils import get_tracr_model

    model, assembled = get_tracr_model(key, device)  # type: ignore[arg-type]
    return model.eval(), TracrCodec(key, assembled)
