import pytest
import torch

from bench.models.registry import load_model


@pytest.fixture(scope="session")
def induction_model():
    torch.set_num_threads(2)
    return load_model("induction-2l", "cpu")


@pytest.fixture(scope="session")
def attn4l_random():
    return load_model("attn-only-4l-random", "cpu")
