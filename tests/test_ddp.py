"""DistributedDataParallel: two CPU processes (gloo), each on half of every batch, train the same weights as one
process on the whole batch.

Why the comparison is meaningful:
- the losses are means over the batch (hinge, feature matching), so the average of the two processes' gradients,
  which DDP computes, is the gradient of the whole batch; KL, a sum, is left out here (no VAE; the trainer
  multiplies it by the number of processes) and without the VAE nothing in a step is random;
- SPADE uses instance norm in this test: batch-norm statistics of half a batch differ from those of the whole
  batch, and gloo on CPU has no SyncBatchNorm (on GPUs the trainer converts batch norm to SyncBatchNorm).
  Instance norm needs more than one pixel, so the images are 64x64 (the generator starts from a 2x2 grid);
- the runs are in float64. In float32 the order of the additions differs between the runs, and some gradients
  are exactly zero in exact arithmetic (a bias followed by a normalization, whose mean it removes) but rounding
  noise in practice; Adam divides every gradient by its own size, which turns that noise into updates of about
  the learning rate, different in every run. In float64 the noise is 10^9 times smaller and all weights agree.
"""
import dataclasses
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from spade_lib import checkpoints
from spade_lib.landscapes import Landscapes
from spade_lib.models import TrainConfig
from spade_lib.training import Trainer
from test_training import tiny_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_one_process(rank: int, world_size: int, port: int, config: dict) -> None:
    """What torchrun does for each process: set the rendezvous variables, then run the ordinary trainer."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    try:
        Trainer(TrainConfig(**config)).fit()
    finally:
        dist.destroy_process_group()


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def test_two_processes_train_the_same_weights_as_one(tmp_path, float64):
    config = tiny_config(tmp_path / "ddp", size=64, ngf=4, ndf=4, spade_hidden=8, use_vae=False, norm="instance",
                         batch_size=4, steps=3)
    Landscapes(size=64)[0]  # make the dataset's textures once; the forked processes inherit them
    # fork (as DataLoader workers do): the processes start with spade_lib imported, seconds faster than spawn
    mp.start_processes(train_one_process, args=(2, free_port(), dataclasses.asdict(config)), nprocs=2,
                       start_method="fork")
    ddp, state = checkpoints.load_checkpoint(tmp_path / "ddp" / "checkpoints")
    assert state["step"] == 3 and state["world_size"] == 2

    single = Trainer(dataclasses.replace(config, out=str(tmp_path / "single")))
    before = {name: t.clone() for name, t in single.state()[0].items()}
    single.fit()
    whole, _ = checkpoints.load_checkpoint(single.last_checkpoint)

    names = [n for n in whole if n.startswith(("generator/", "discriminator/", "optimizer/"))]
    assert names and all(name in ddp for name in names)
    assert whole["generator/conv_img.weight"].dtype == torch.float64
    assert not torch.allclose(whole["generator/conv_img.weight"], before["generator/conv_img.weight"])
    for name in names:
        torch.testing.assert_close(ddp[name], whole[name], rtol=1e-7, atol=1e-10, msg=lambda m: f"{name}: {m}")
