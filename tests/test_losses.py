"""Values of every loss in spade_lib.losses against hand-written formulas, and the errors bad input gets."""
import math

import pytest
import torch
from torch.testing import assert_close
from torchvision.models import VGG19_Weights
from torchvision.models.vgg import cfgs, make_layers

from spade_lib import losses
from spade_lib.losses import (LossWeights, VGGLoss, discriminator_loss_terms, feature_matching_loss, gan_loss,
                              generator_loss_terms, kl_divergence, split_fake_real)

PRED = torch.tensor([-2.0, -0.5, 0.5, 3.0])


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def mean(values):
    return sum(values) / len(values)


xs = PRED.tolist()
# (kind, D on real, D on fake, G), computed by hand from the formulas
EXPECTED = [
    ("hinge", mean([max(0, 1 - x) for x in xs]), mean([max(0, 1 + x) for x in xs]), -mean(xs)),
    ("bce", mean([-math.log(sigmoid(x)) for x in xs]), mean([-math.log(1 - sigmoid(x)) for x in xs]),
     mean([-math.log(sigmoid(x)) for x in xs])),
    ("least_squares", mean([(x - 1) ** 2 for x in xs]), mean([x ** 2 for x in xs]), mean([(x - 1) ** 2 for x in xs])),
    ("wasserstein", -mean(xs), mean(xs), -mean(xs)),
]


@pytest.mark.parametrize("kind, d_real, d_fake, g", EXPECTED)
def test_gan_losses_match_formulas(kind, d_real, d_fake, g):
    outputs = [[PRED]]
    assert gan_loss(outputs, True, True, kind).item() == pytest.approx(d_real)
    assert gan_loss(outputs, False, True, kind).item() == pytest.approx(d_fake)
    assert gan_loss(outputs, True, False, kind).item() == pytest.approx(g)


def test_hinge_numbers():
    # relu(1 - x) = 3, 1.5, 0.5, 0 and relu(1 + x) = 0, 0.5, 1.5, 4
    assert gan_loss([[PRED]], True, True).item() == pytest.approx(1.25)
    assert gan_loss([[PRED]], False, True).item() == pytest.approx(1.5)
    assert gan_loss([[PRED]], True, False).item() == pytest.approx(-0.25)


def test_multiscale_uses_last_output_and_averages_over_scales():
    feature = torch.full((4,), 1e6)  # intermediate features must not enter the GAN loss
    outputs = [[feature, PRED], [feature, PRED + 1]]
    expected = (-PRED.mean() - (PRED + 1).mean()) / 2
    assert_close(gan_loss(outputs, True, False), expected)
    single = [gan_loss([[p]], False, True, "least_squares") for p in (PRED, PRED + 1)]
    assert_close(gan_loss(outputs, False, True, "least_squares"), (single[0] + single[1]) / 2)


@pytest.mark.parametrize("outputs", [[], PRED, [PRED], [[]], [[PRED], "x"]])
def test_gan_loss_rejects_malformed_outputs(outputs):
    with pytest.raises(ValueError, match="outputs"):
        gan_loss(outputs, True, True)


def test_gan_loss_rejects_unknown_kind_and_fake_target_for_generator():
    with pytest.raises(ValueError, match="unknown GAN loss kind"):
        gan_loss([[PRED]], True, True, kind="vanilla")
    with pytest.raises(ValueError, match="target_is_real=True"):
        gan_loss([[PRED]], False, False)


def test_split_fake_real_takes_fake_first():
    features = torch.arange(4.0).view(4, 1)
    fake, real = split_fake_real([[features, features * 10]])
    assert_close(fake[0][0], torch.tensor([[0.0], [1.0]]))
    assert_close(real[0][1], torch.tensor([[20.0], [30.0]]))
    with pytest.raises(ValueError, match="halves"):
        split_fake_real([[torch.zeros(3, 1)]])


def test_feature_matching_value_by_hand():
    zeros = torch.zeros(1, 2, 2, 2)
    fake = [[zeros, zeros, zeros], [zeros, zeros]]
    real = [[zeros + 1, zeros + 2, zeros + 100], [zeros + 3, zeros - 100]]  # the predictions (last) are ignored
    # L1 means: scale 0 gives 1 + 2, scale 1 gives 3; times weight 10 over num_D 2
    assert feature_matching_loss(fake, real).item() == pytest.approx((1 + 2 + 3) * 10 / 2)
    assert feature_matching_loss(fake, real, weight=1.0).item() == pytest.approx(3.0)


def test_feature_matching_detaches_the_real_features():
    fake_feature = torch.zeros(1, 3, requires_grad=True)
    real_feature = torch.ones(1, 3, requires_grad=True)
    feature_matching_loss([[fake_feature, fake_feature]], [[real_feature, real_feature]]).backward()
    assert real_feature.grad is None
    assert fake_feature.grad.abs().sum() > 0


def test_feature_matching_rejects_mismatches():
    f = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="scales"):
        feature_matching_loss([[f, f]], [[f, f], [f, f]])
    with pytest.raises(ValueError, match="layers"):
        feature_matching_loss([[f, f]], [[f, f, f]])
    with pytest.raises(ValueError, match="shape"):
        feature_matching_loss([[f, f]], [[torch.zeros(2, 2), f]])


def test_kl_is_zero_for_the_prior_and_a_sum_not_a_mean():
    assert kl_divergence(torch.zeros(4, 8), torch.zeros(4, 8)).item() == 0.0
    mu = torch.full((2, 3), 2.0)
    assert kl_divergence(mu, torch.zeros(2, 3)).item() == pytest.approx(0.5 * 4.0 * 6)  # 0.5 * mu^2, summed
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    closed_form = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                                    torch.distributions.Normal(0.0, 1.0)).sum()
    assert_close(kl_divergence(mu, logvar), closed_form)
    doubled = kl_divergence(torch.cat([mu, mu]), torch.cat([logvar, logvar]))
    assert_close(doubled, 2 * kl_divergence(mu, logvar))
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence(mu, logvar[:, :4])


# --- VGG19 -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vgg_state_dict():
    """A randomly initialised VGG19 `features` state dict with torchvision's key names (all 16 convs)."""
    torch.manual_seed(0)
    layers = make_layers(cfgs["E"])
    return {f"features.{key}": value for key, value in layers.state_dict().items()}


@pytest.fixture(scope="module")
def vgg_files(vgg_state_dict, tmp_path_factory):
    from safetensors.torch import save_file
    folder = tmp_path_factory.mktemp("vgg")
    torch.save(vgg_state_dict, folder / "vgg19.pth")
    save_file(vgg_state_dict, str(folder / "vgg19.safetensors"))
    return folder


def test_vgg_layer_weights_and_slices():
    assert losses.VGG_LAYER_WEIGHTS == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    assert losses.VGG19_SLICES == (0, 2, 7, 12, 21, 30)
    assert losses.VGG19_URL == VGG19_Weights.IMAGENET1K_V1.url


@pytest.mark.parametrize("suffix", ["pth", "safetensors"])
def test_vgg_loads_from_a_file(vgg_files, vgg_state_dict, suffix):
    loss = VGGLoss(weights=vgg_files / f"vgg19.{suffix}")
    for key, value in loss.vgg.state_dict().items():
        assert torch.equal(value, vgg_state_dict[key])
    assert not loss.vgg.training
    assert not any(p.requires_grad for p in loss.parameters())


def test_vgg_loads_from_torchvision_cache(vgg_files, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(vgg_files))
    (vgg_files / "checkpoints").mkdir(exist_ok=True)
    cached = vgg_files / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cached.write_bytes((vgg_files / "vgg19.pth").read_bytes())
    assert losses.vgg19_cache_path() == cached
    VGGLoss()


def test_vgg_slices_match_torchvision_and_have_the_right_shapes(vgg_state_dict):
    loss = VGGLoss(weights=vgg_state_dict)
    reference = make_layers(cfgs["E"])
    reference.load_state_dict({key.removeprefix("features."): v for key, v in vgg_state_dict.items()})
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        outputs = loss.vgg(x)
        expected = [reference[:end](x) for end in (2, 7, 12, 21, 30)]  # relu1_1 ... relu5_1
    assert [tuple(o.shape) for o in outputs] == [(1, 64, 64, 64), (1, 128, 32, 32), (1, 256, 16, 16),
                                                 (1, 512, 8, 8), (1, 512, 4, 4)]
    for out, ref in zip(outputs, expected):
        assert_close(out, ref)


def test_vgg_loss_value_by_hand(vgg_state_dict):
    loss = VGGLoss(weights=vgg_state_dict)
    fake, real = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1  # [-1, 1], no ImageNet norm
    with torch.no_grad():
        by_hand = sum(w * (f - r).abs().mean()
                      for w, f, r in zip([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1], loss.vgg(fake), loss.vgg(real)))
        assert_close(loss(fake, real), by_hand)
    with pytest.raises(ValueError, match="differ in shape"):
        loss(fake, real[:1])


def test_vgg_missing_file_explains_and_never_downloads(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("VGGLoss must not download anything by itself")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        VGGLoss()
    message = str(error.value)
    assert str(tmp_path / "checkpoints" / "vgg19-dcbb9e9d.pth") in message
    assert "download_vgg19()" in message and "perceptual=False" in message and ".safetensors" in message
    with pytest.raises(FileNotFoundError, match="the path you gave.*nowhere.pth"):
        VGGLoss(weights=tmp_path / "nowhere.pth")


def test_vgg_rejects_a_state_dict_that_is_not_vgg19():
    with pytest.raises(ValueError, match="not a torchvision VGG19 state dict"):
        VGGLoss(weights={"conv.weight": torch.zeros(1)})


def test_download_vgg19_uses_torchvision_url_and_hash(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *args, **kwargs: calls.append((args, kwargs)))
    path = losses.download_vgg19(progress=False)
    assert path == tmp_path / "checkpoints" / "vgg19-dcbb9e9d.pth"
    assert calls == [((VGG19_Weights.IMAGENET1K_V1.url, str(path)), {"hash_prefix": "dcbb9e9d", "progress": False})]


# --- composition -----------------------------------------------------------------------------------------------

def d_outputs(seed):
    torch.manual_seed(seed)
    return [[torch.randn(2, 4, 4, 4), torch.randn(2, 1, 3, 3)], [torch.randn(2, 4, 2, 2), torch.randn(2, 1, 2, 2)]]


def test_loss_weights_defaults():
    assert LossWeights() == LossWeights(feat=10.0, vgg=10.0, kl=0.05, gan_kind="hinge", perceptual=True)


def test_generator_loss_terms_are_the_weighted_terms(vgg_state_dict):
    d_fake, d_real = d_outputs(1), d_outputs(2)
    fake, real = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    mu, logvar = torch.randn(2, 8), torch.randn(2, 8)
    vgg = VGGLoss(weights=vgg_state_dict)
    terms = generator_loss_terms(d_fake, d_real, fake, real, mu, logvar, vgg=vgg)
    assert set(terms) == {"gan", "feat", "vgg", "kl"}
    assert_close(terms["gan"], gan_loss(d_fake, True, False))
    assert_close(terms["feat"], feature_matching_loss(d_fake, d_real, weight=10.0))
    assert_close(terms["vgg"], 10 * vgg(fake, real))
    assert_close(terms["kl"], 0.05 * kl_divergence(mu, logvar))

    weights = LossWeights(feat=0.0, perceptual=False, gan_kind="least_squares")
    terms = generator_loss_terms(d_fake, d_real, fake, real, weights=weights)
    assert set(terms) == {"gan"}
    assert_close(terms["gan"], gan_loss(d_fake, True, False, "least_squares"))


def test_generator_loss_terms_bad_input():
    d = d_outputs(0)
    image = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match="perceptual=False"):
        generator_loss_terms(d, d, image, image)
    with pytest.raises(ValueError, match="both mu and logvar"):
        generator_loss_terms(d, d, image, image, mu=torch.zeros(2, 8), weights=LossWeights(perceptual=False))


def test_discriminator_loss_terms():
    d_fake, d_real = d_outputs(1), d_outputs(2)
    terms = discriminator_loss_terms(d_fake, d_real)
    assert_close(terms["d_fake"], gan_loss(d_fake, False, True))
    assert_close(terms["d_real"], gan_loss(d_real, True, True))
    assert set(discriminator_loss_terms(d_fake, d_real, kind="bce")) == {"d_fake", "d_real"}
