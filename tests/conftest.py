import os
import tempfile

import pytest
import torch

# Every test session gets its own empty cdbench home, as CI does: nothing is read from a warm user cache.
os.environ.setdefault("CDBENCH_HOME", tempfile.mkdtemp(prefix="cdbench-test-home-"))
os.environ.setdefault("CDBENCH_CACHE", os.path.join(os.environ["CDBENCH_HOME"], "runs"))
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def induction_model():
    from bench.models.registry import load_model

    return load_model("induction-2l", "cpu")


@pytest.fixture(scope="session")
def attn4l_random():
    from bench.models.registry import load_model

    return load_model("attn-only-4l-random", "cpu")


@pytest.fixture(scope="session")
def gpt2_random():
    from bench.models.registry import load_model

    return load_model("gpt2-random", "cpu")
