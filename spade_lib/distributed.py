"""Training on several GPUs (lesson 08): ``torchrun`` + DistributedDataParallel, and what changes with it.

One process per GPU (gloo processes on CPU, as the tests run it); every process builds the same networks from the
same seed, DDP averages their gradients after every backward pass, and the trainer (``spade_lib.training``) asks
these helpers to join the process group, to keep D fixed during the generator step, and to keep the KL term of
the whole batch. PyTorch: ``torch.nn.parallel.DistributedDataParallel``; the official code uses one process and
``DataParallelWithCallback`` (synchronized batch norm) instead (NVlabs/SPADE ``trainers/pix2pix_trainer.py``).
"""
import contextlib
import inspect
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from . import modes


def init_distributed(device_option: str) -> tuple[int, int, torch.device]:
    """(rank, world_size, device). Under ``torchrun`` (which sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
    MASTER_PORT) join the process group, NCCL between GPUs and gloo on CPU, one GPU per process; else one process."""
    device = modes.device() if device_option == "auto" else torch.device(device_option)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def no_buffer_sync() -> dict:
    """DDP's option not to copy process 0's buffers to the others before every forward (D runs twice a step).

    There is nothing to copy: the buffers are spectral-norm vectors, which every process updates identically from
    its identical weights, and batch-norm running statistics, used only in eval mode (synchronized on GPUs by
    SyncBatchNorm; on CPU process 0's are saved). torch 2.14 renamed ``broadcast_buffers`` to
    ``forward_sync_buffers``."""
    options = inspect.signature(DistributedDataParallel).parameters
    return {"forward_sync_buffers": False} if "forward_sync_buffers" in options else {"broadcast_buffers": False}


@contextlib.contextmanager
def frozen(model: torch.nn.Module):
    """Use ``model`` as a fixed function: no gradients for its weights and, under DDP, no gradient exchange.

    The generator step runs D this way; the official code lets D's gradients accumulate there and zeroes them
    before D's own step, which gives the same weights for more work."""
    model.requires_grad_(False)
    try:
        with model.no_sync() if isinstance(model, DistributedDataParallel) else contextlib.nullcontext():
            yield
    finally:
        model.requires_grad_(True)


def kl_of_the_global_batch(terms: dict[str, torch.Tensor], world_size: int) -> dict[str, torch.Tensor]:
    """The generator's loss terms with the KL term of the whole batch over all processes: KL is a sum over the
    batch (official ``KLDLoss``), each process sums its share, and DDP averages the processes' gradients, which
    divides the KL by ``world_size``; multiplying by ``world_size`` undoes that."""
    if "kl" not in terms:
        return terms
    # KL of the global batch = world_size x (mean over processes of each process's KL sum)
    return {**terms, "kl": terms["kl"] * world_size}
