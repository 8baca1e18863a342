import torch

from bench.models.tokenizers import gpt2_tokenizer
from bench.tasks import get_task
from bench.tasks.base import LogitDiff, ProbDiff


def test_gpt2_tokenizer_matches_openai_ids():
    tok = gpt2_tokenizer()
    assert tok.encode("Hello world") == [15496, 995]
    assert tok.encode(" Mary") == [5335] and len(tok.encode(" 1732")) == 2


def test_induction_prompts_are_solvable_only_when_clean(induction_model):
    p = get_task("induction").build(induction_model, 50, seed=3)
    for clean, corrupt, ans in zip(p.clean.tokens, p.corrupted.tokens, p.metric.answer):
        last = clean[-1].item()
        earlier = (clean[:-1] == last).nonzero().flatten()
        assert len(earlier) == 1 and clean[earlier[0] + 1] == ans  # the answer follows the earlier copy
        assert (corrupt[:-1] == corrupt[-1]).sum() == 0  # negatives: the last token never appeared before
    again = get_task("induction").build(induction_model, 50, seed=3)
    assert torch.equal(p.clean.tokens, again.clean.tokens)


def test_ioi_prompts(attn4l_random):
    tok = attn4l_random.tokenizer
    p = get_task("ioi").build(attn4l_random, 40, seed=0)
    assert isinstance(p.metric, LogitDiff) and len(p.clean) == 40
    for i in range(40):
        toks = p.clean.tokens[i, : p.clean.lengths[i]].tolist()
        assert toks.count(p.metric.answer[i].item()) == 1  # IO named once
        assert toks.count(p.metric.wrong[i].item()) == 2  # S named twice
        corrupt = p.corrupted.tokens[i, : p.corrupted.lengths[i]].tolist()
        assert corrupt.count(p.metric.wrong[i].item()) == 1  # ABC: the repeat is gone
    assert "gave a" in tok.decode(p.clean.tokens[0, : p.clean.lengths[0]].tolist())


def test_greater_than_and_docstring_prompts(attn4l_random):
    tok = attn4l_random.tokenizer
    gt = get_task("greater_than").build(attn4l_random, 30, seed=1)
    assert isinstance(gt.metric, ProbDiff) and int(gt.metric.start.min()) >= 2
    text = tok.decode(gt.corrupted.tokens[0, : gt.corrupted.lengths[0]].tolist())
    assert "01 to the year" in text
    logits = torch.zeros(30, 50257)
    logits[:, gt.metric.year_tokens[99]] = 50.0  # all mass on "99" -> greater than every start year
    assert torch.allclose(gt.metric(logits), torch.ones(30), atol=1e-4)
    doc = get_task("docstring").build(attn4l_random, 20, seed=2)
    text = tok.decode(doc.clean.tokens[0, : doc.clean.lengths[0]].tolist())
    assert text.startswith("def run(self,") and text.endswith(":param")
    assert tok.decode([doc.metric.answer[0].item()]) in text.split(":")[0]  # the answer is a signature parameter
