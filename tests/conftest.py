import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every test starts from the same seed, on one thread: the tests run tiny networks, where a second thread
    only waits for the first (measured 7-40x slower on a busy 2-core machine)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield


@pytest.fixture
def colour_fit_losses():
    """``losses(generator, labels, classes)``: the L1 losses of 15 Adam steps fitting the generator's images of
    ``labels`` (N, H, W) to one random colour per class; a generator that can learn makes the last one smaller."""
    import torch.nn.functional as F

    def losses(generator, labels, classes: int, steps: int = 15) -> list[float]:
        target = (torch.rand(classes, 3) * 2 - 1)[labels].permute(0, 3, 1, 2)  # a colour per class
        optimizer = torch.optim.Adam(generator.parameters(), lr=2e-3)
        history = []
        for _ in range(steps):
            loss = F.l1_loss(generator(labels), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        return history
    return losses
