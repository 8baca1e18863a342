"""The embedded default model: a 2-layer attention-only transformer that cdbench trains itself
on repeated random spans (``python -m bench.models.induction``), committed as safetensors."""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch
from tqdm import tqdm
from transformer_lens import HookedTransformer, HookedTransformerConfig

from bench.tasks.induction_data import training_batch

log = logging.getLogger(__name__)
WEIGHTS = Path(__file__).resolve().parent / "weights" / "induction-2l.safetensors"
TRAIN_SEQ_LEN = 48
VOCAB = 64


def config(seed: int = 0) -> HookedTransformerConfig:
    return HookedTransformerConfig(
        n_layers=2, n_heads=4, d_model=64, d_head=16, n_ctx=TRAIN_SEQ_LEN, d_vocab=VOCAB,
        attn_only=True, normalization_type="LN", positional_embedding_type="shortformer",
        act_fn=None, seed=seed, model_name="induction-2l", tokenizer_name=None, default_prepend_bos=False,
    )


def train(seed: int = 0, steps: int = 3000, batch: int = 64, lr: float = 2e-3) -> tuple[HookedTransformer, dict]:
    """Train from scratch, deterministic from ``seed`` on CPU; returns the model and training stats."""
    torch.manual_seed(seed)
    model = HookedTransformer(config(seed))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc="train induction-2l", mininterval=2)
    for step in bar:
        toks, _ = training_batch(gen, batch, TRAIN_SEQ_LEN, VOCAB)
        loss = model(toks, return_type="loss")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    stats = {"seed": seed, "steps": steps, "batch": batch, "lr": lr, "train_seconds": round(time.perf_counter() - t0, 1)}
    stats.update(in_context_loss(model, seed=seed + 1))
    return model.eval(), stats


@torch.no_grad()
def in_context_loss(model: HookedTransformer, seed: int, n: int = 512) -> dict[str, float]:
    """Mean next-token loss on predictable (second-copy) positions vs all other positions."""
    gen = torch.Generator().manual_seed(seed)
    toks, pred = training_batch(gen, n, TRAIN_SEQ_LEN, VOCAB)
    losses = model(toks, return_type="loss", loss_per_token=True)  # [n, seq-1]
    pred = pred[:, :-1]
    return {"loss_repeated": round(losses[pred].mean().item(), 4),
            "loss_unrepeated": round(losses[~pred].mean().item(), 4)}


def load(device: str = "cpu") -> HookedTransformer:
    from bench.errors import ModelMissingError
    from safetensors.torch import load_file

    if not WEIGHTS.is_file():
        raise ModelMissingError(f"induction-2l weights missing at {WEIGHTS}; run `python -m bench.models.induction`")
    model = HookedTransformer(config())
    model.load_state_dict(load_file(str(WEIGHTS)), strict=False)
    return model.to(device).eval()


def main() -> None:
    from safetensors.torch import save_file

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, stats = train(args.seed, args.steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith(("IGNORE", ".mask"))}
    save_file(state, str(args.out), metadata={"stats": json.dumps(stats)})
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
