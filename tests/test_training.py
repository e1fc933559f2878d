"""The training engine: the official recipe's numbers, a sane step, determinism, exact resume, NaN guard, signals."""
import copy
import dataclasses
import os
import signal

import pytest
import torch

import spade_lib.losses
import spade_lib.training
from spade_lib import checkpoints
from spade_lib.labels import make_segmap
from spade_lib.landscapes import NUM_CLASSES, Landscapes
from spade_lib.models import TrainConfig, build_generator
from spade_lib.distributed import kl_of_the_global_batch
from spade_lib.training import (NonFiniteLossError, StepBatches, Trainer, decay_factor, ema_decay, learning_rates,
                                plot_history, to_segmap, update_ema)


def tiny_config(out, **changes) -> TrainConfig:
    """The smallest model that still has every part of the recipe: 32x32, ngf 8, style encoder, 2 scales of D."""
    settings = dict(size=32, ngf=8, ndf=8, spade_hidden=16, z_dim=16, batch_size=2, steps=4, dataset_size=16,
                    use_vae=True, perceptual=False, workers=0, progress=False, out=str(out), save_every=1000,
                    sample_every=1000, log_every=1)
    return TrainConfig(**{**settings, **changes})


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    """Every tensor a checkpoint holds (weights, buffers, EMA, optimizer moments), by name."""
    tensors, _ = trainer.state()
    return {name: t.clone() for name, t in tensors.items() if not name.startswith("rng/")}


def assert_same_tensors(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert not different, f"tensors differ: {different[:5]}"


def test_recipe_numbers():
    assert learning_rates(TrainConfig()) == (1e-4, 4e-4, (0.0, 0.9))  # TTUR, NVlabs/SPADE options/train_options.py
    assert learning_rates(TrainConfig(ttur=False)) == (2e-4, 2e-4, (0.5, 0.999))
    factors = [decay_factor(step, steps=10, decay_fraction=0.5) for step in range(11)]
    assert factors == [1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0]  # constant, then linear to 0 over the last half
    assert decay_factor(5, steps=10, decay_fraction=0.0) == 1.0
    assert ema_decay(0, 0.999) == 0.1 and ema_decay(10**6, 0.999) == 0.999  # EMA warm-up


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="ngf must be at least 1"):
        TrainConfig(ngf=0)
    with pytest.raises(ValueError, match="norm must be one of batch, instance"):
        TrainConfig(norm="group")


def test_step_batches_resume_and_split_between_processes():
    whole = list(StepBatches(dataset_size=8, batch_size=4, seed=0, start_step=0, steps=4))  # 2 epochs
    assert list(StepBatches(8, 4, seed=0, start_step=2, steps=4)) == whole[2:]  # a resumed run sees the same
    epochs = [whole[0] + whole[1], whole[2] + whole[3]]
    assert all(sorted(epoch) == list(range(8)) for epoch in epochs) and epochs[0] != epochs[1]
    halves = [list(StepBatches(8, 4, seed=0, start_step=0, steps=4, rank=r, world_size=2)) for r in (0, 1)]
    assert [a + b for a, b in zip(*halves)] == whole  # two processes share each global batch


def test_a_few_steps_are_sane(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, steps=2))
    optimized_g = {id(p) for p in trainer.optimizers["generator"].param_groups[0]["params"]}
    optimized_d = {id(p) for p in trainer.optimizers["discriminator"].param_groups[0]["params"]}
    own_g = {id(p) for p in [*trainer.generator.parameters(), *trainer.encoder.parameters()]}
    assert optimized_g == own_g and optimized_d == {id(p) for p in trainer.discriminator.parameters()}

    batch = next(iter(trainer.batches()))
    segmap, real = to_segmap(batch, trainer.config, trainer.device), batch["image"]
    params = lambda net: [p.detach().clone() for p in net.parameters()]  # noqa: E731
    g0, d0, e0 = params(trainer.generator), params(trainer.discriminator), params(trainer.encoder)

    g_losses = trainer.generator_step(segmap, real)
    assert set(g_losses) == {"g_gan", "g_feat", "g_kl"}
    assert all(map(torch.equal, d0, params(trainer.discriminator))), "the G step changed D"
    assert not any(map(torch.equal, g0[:1], params(trainer.generator)[:1]))
    assert not all(map(torch.equal, e0, params(trainer.encoder))), "the encoder did not learn (KL, GAN)"
    g1 = params(trainer.generator)
    d_losses = trainer.discriminator_step(segmap, real)
    assert set(d_losses) == {"d_fake", "d_real"}
    assert all(map(torch.equal, g1, params(trainer.generator))), "the D step changed G"
    assert not all(map(torch.equal, d0, params(trainer.discriminator)))
    assert all(torch.isfinite(torch.tensor(v)) for v in {**g_losses, **d_losses}.values())


def test_the_ema_generator_gets_the_batch_norm_statistics(tmp_path):
    """The shipped model is the EMA generator in eval mode: without the running statistics of the generator's
    batch norms it would normalize with the initial mean 0 and variance 1."""
    torch.manual_seed(0)
    generator = build_generator(tiny_config(tmp_path, use_vae=False))
    ema = copy.deepcopy(generator).requires_grad_(False)
    layouts = Landscapes(size=32, length=4)
    samples = [layouts.layout(i) for i in range(4)]
    segmap = make_segmap(torch.stack([s["label"] for s in samples]), NUM_CLASSES,
                         torch.stack([s["instance"] for s in samples]))
    generator(segmap)  # train mode: the running statistics move
    update_ema(ema, generator, decay=0.0)  # decay 0: the EMA is the generator, weights and statistics
    for averaged, current in zip(ema.buffers(), generator.buffers()):
        assert torch.equal(averaged, current)
    with torch.no_grad():
        torch.testing.assert_close(ema.eval()(segmap), generator.eval()(segmap), rtol=0, atol=0)


def test_under_ddp_the_kl_term_is_the_global_batchs(tmp_path, monkeypatch):
    """KL is a sum over the batch; each of the world_size processes sums its share and DDP averages their
    gradients, so the generator step multiplies KL by world_size (here 2 processes, without a process group)."""
    terms = {"gan": torch.tensor(1.0), "kl": torch.tensor(0.25)}
    assert kl_of_the_global_batch(terms, 2) == {"gan": torch.tensor(1.0), "kl": torch.tensor(0.5)}
    assert kl_of_the_global_batch({"gan": torch.tensor(1.0)}, 2) == {"gan": torch.tensor(1.0)}
    monkeypatch.setattr(spade_lib.training.dist, "all_reduce", lambda tensor, op=None: None)  # one process: sum=own
    kl = {}
    for world_size in (1, 2):
        trainer = Trainer(tiny_config(tmp_path / str(world_size), steps=1))  # the same seed: the same weights
        batch = next(iter(trainer.batches()))  # the whole batch of 2 in both runs
        trainer.world_size = world_size  # what the generator step reads under torchrun
        torch.manual_seed(1)  # the same noise (z) in both runs
        kl[world_size] = trainer.generator_step(to_segmap(batch, trainer.config, trainer.device),
                                                batch["image"])["g_kl"]
    assert kl[2] == pytest.approx(2 * kl[1], rel=1e-6) and kl[1] > 0


def test_real_and_fake_go_through_d_in_one_call(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, steps=1))
    batch_sizes = []
    trainer.discriminator.register_forward_hook(lambda module, args, out: batch_sizes.append(len(args[1])))
    trainer.fit()
    assert batch_sizes == [4, 4]  # G step and D step, each fake + real of a batch of 2


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    runs = []
    for k, seed in enumerate((0, 0, 1)):  # build then train: the noise comes from torch's generator, seeded by build
        runs.append(Trainer(tiny_config(tmp_path / str(k), steps=1, seed=seed)))
        runs[-1].fit()
    assert_same_tensors(weights(runs[0]), weights(runs[1]))
    assert not torch.equal(runs[0].generator.conv_img.weight, runs[2].generator.conv_img.weight)


def test_resume_is_exact_and_keyboard_interrupt_saves(tmp_path):
    # batch norm (running statistics), EMA, VAE noise and the learning-rate decay all take part
    config = tiny_config(tmp_path / "straight", steps=6, ema=True, ema_decay=0.9, log_every=2)
    straight = Trainer(config)
    straight.fit()

    interrupted_config = dataclasses.replace(config, out=str(tmp_path / "interrupted"))

    def interrupt_at_step_3(trainer, losses):
        if trainer.step == 3:
            raise KeyboardInterrupt

    first = Trainer(interrupted_config)
    first.fit(callback=interrupt_at_step_3)
    assert first.step == 3 and first.stop_reason == "KeyboardInterrupt"
    assert checkpoints.find_latest(first.checkpoint_dir).name == "step_0000003.json"

    resumed = Trainer(interrupted_config)
    resumed.load("latest")
    assert resumed.step == 3
    resumed.fit()
    assert_same_tensors(weights(straight), weights(resumed))
    losses = lambda history: [{k: v for k, v in h.items() if k != "images_per_second"} for h in history]  # noqa
    assert losses(resumed.history) == losses(straight.history)


def test_resume_refuses_another_config(tmp_path):
    trainer = Trainer(tiny_config(tmp_path))
    path = trainer.save()
    other = Trainer(tiny_config(tmp_path, ngf=4))
    with pytest.raises(checkpoints.CheckpointError, match=r"ngf: checkpoint 8, now 4") as error:
        other.load(path)
    assert str(path) in str(error.value)
    Trainer(tiny_config(tmp_path, save_every=7, progress=True)).load(path)  # bookkeeping may change


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_finishes_the_step_and_saves(tmp_path, sig):
    trainer = Trainer(tiny_config(tmp_path, steps=3))
    handler_before = signal.getsignal(sig)
    trainer.fit(callback=lambda t, losses: os.kill(os.getpid(), sig) if t.step == 1 else None)
    assert trainer.step == 1 and trainer.stop_reason == sig.name
    assert trainer.last_checkpoint.name == "step_0000001.json"
    assert signal.getsignal(sig) == handler_before
    checkpoints.load_checkpoint(trainer.last_checkpoint)


def test_nan_loss_names_the_loss_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(tiny_config(tmp_path, steps=4, save_every=2))

    def break_feature_matching(t, losses):
        if t.step == 2:
            monkeypatch.setattr(spade_lib.losses, "feature_matching_loss",
                                lambda *args, **kwargs: torch.tensor(float("nan")))

    with pytest.raises(NonFiniteLossError, match=r"loss 'g_feat' is nan at step 3") as error:
        trainer.fit(callback=break_feature_matching)
    assert "step_0000002.json" in str(error.value)
    assert [p.name for p in checkpoints.list_checkpoints(trainer.checkpoint_dir)] == ["step_0000002.json"]


def test_perceptual_loss_turns_off_with_the_loss_modules_message(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "no-cache"))
    message = "(?s)WITHOUT the perceptual loss.*VGG19 weights for the perceptual loss not found"
    with pytest.warns(UserWarning, match=message):
        trainer = Trainer(tiny_config(tmp_path, perceptual=True))
    assert trainer.vgg is None and not trainer.loss_weights.perceptual


def test_plot_history_has_titles_and_labels(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    history = [{"step": 1, "g_gan": 0.5, "d_fake": 1.0, "images_per_second": 3.0},
               {"step": 2, "g_gan": 0.4, "d_fake": 0.9, "images_per_second": 3.0}]
    ax = plot_history(history)
    assert ax.get_title() and ax.get_xlabel() == "step" and ax.get_ylabel()
    assert [line.get_label() for line in ax.get_lines()] == ["g_gan", "d_fake"]
    with pytest.raises(ValueError, match="empty"):
        plot_history([])
