"""The prompt generators follow the released procedures, and models read prompts as they were trained."""
import torch

from bench.models.tokenizers import GPT2_BOS, gpt2_tokenizer
from bench.tasks import get_task
from bench.tasks.base import LogitDiff, ProbDiff
from bench.tasks.ioi import templates


def test_gpt2_tokenizer_matches_openai_ids():
    tok = gpt2_tokenizer()
    assert tok.encode("Hello world") == [15496, 995]
    assert tok.encode(" Mary") == [5335] and len(tok.encode(" 1732")) == 2


def test_ioi_released_generator(gpt2_random):
    tok = gpt2_random.tokenizer
    assert len(templates()) == 30 and len(set(templates())) == 30  # 15 BABA templates and their ABBA twins
    p = get_task("ioi").build(gpt2_random, 60, seed=0)
    assert isinstance(p.metric, LogitDiff) and p.prompt_set == "ioi.oneill2024.v1"
    for i in range(60):
        toks = p.clean.tokens[i, : p.clean.lengths[i]].tolist()
        assert toks[0] == GPT2_BOS  # BOS first, as GPT-2 was trained and TransformerLens feeds it
        io, s = p.metric.answer[i].item(), p.metric.wrong[i].item()
        assert toks.count(io) == 1 and toks.count(s) == 2  # IO named once, S twice; the prompt stops before the IO
        neg = p.corrupted.tokens[i, : p.corrupted.lengths[i]].tolist()
        assert neg.count(s) == 1 and neg.count(io) == 1  # "IO and C ..., S gave ... to": nothing repeats
        assert len(set(neg) - set(toks)) >= 1  # the third name C, which the positive does not contain


def test_greater_than_released_generator(gpt2_random):
    tok = gpt2_random.tokenizer
    gt = get_task("greater_than").build(gpt2_random, 97, seed=1)
    assert isinstance(gt.metric, ProbDiff) and sorted(gt.metric.start.tolist()) == list(range(2, 99))  # balanced
    text = tok.decode(gt.corrupted.tokens[0, 1: gt.corrupted.lengths[0]].tolist())
    assert text.startswith("The ") and "01 to the year" in text and gt.corrupted.tokens[0, 0] == GPT2_BOS
    logits = torch.zeros(97, 50257)
    logits[:, gt.metric.year_tokens[99]] = 50.0  # all mass on "99" -> greater than every start year
    assert torch.allclose(gt.metric(logits), torch.ones(97), atol=1e-4)


def test_docstring_acdc_generator(attn4l_random):
    tok = attn4l_random.tokenizer
    doc = get_task("docstring").build(attn4l_random, 20, seed=2)
    text = tok.decode(doc.clean.tokens[0, 1: doc.clean.lengths[0]].tolist())
    neg = tok.decode(doc.corrupted.tokens[0, 1: doc.corrupted.lengths[0]].tolist())
    assert text.startswith("\ndef ") and text.endswith(":param") and text.count(":param") == 3
    sig = text.split("(self, ")[1].split("):")[0].split(", ")
    assert len(sig) == 6  # 2 prefix + 3 matching + 1 suffix arguments
    answer = tok.decode([doc.metric.answer[0].item()]).strip()
    assert answer == sig[4] and f":param {sig[2]}:" in text and f":param {sig[3]}:" in text
    neg_sig = neg.split("(self, ")[1].split("):")[0].split(", ")
    assert neg_sig[:2] == sig[:2] and neg_sig[5] == sig[5] and not set(neg_sig[2:5]) & set(sig[2:5])  # random_random
    assert doc.metric.wrong.shape == (20, 13)  # every other argument name competes


def test_prompts_are_seeded(induction_model):
    a = get_task("induction").build(induction_model, 20, seed=3)
    b = get_task("induction").build(induction_model, 20, seed=3)
    assert torch.equal(a.clean.tokens, b.clean.tokens) and a.content_hash() == b.content_hash()
    assert get_task("induction").build(induction_model, 20, seed=4).content_hash() != a.content_hash()
