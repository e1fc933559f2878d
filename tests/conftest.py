import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every test starts from the same seed, with the 2 threads CI has."""
    torch.manual_seed(0)
    torch.set_num_threads(2)
    yield
