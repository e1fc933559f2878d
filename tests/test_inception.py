"""The optional Inception Fréchet distance, on random Inception weights made here (the real ones never download)."""
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
import torch_fidelity.feature_extractor_inceptionv3 as fidelity_inception

from spade_lib import checkpoints, inception
from spade_lib.checkpoints import CheckpointError
from spade_lib.metrics import frechet_distance


@pytest.fixture(scope="module", autouse=True)
def no_download():
    """Any attempt by torch-fidelity to fetch weights fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("torch-fidelity tried to download weights")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fidelity_inception, "load_state_dict_from_url", refuse)
        yield


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A file of random FID-Inception weights, with variance-preserving convolutions (so features are O(1))."""
    folder = tmp_path_factory.mktemp("inception")
    torch.save({}, folder / "empty.pth")
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as patch:  # build the network without loading any weights
        patch.setattr(fidelity_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        model = fidelity_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                               feature_extractor_weights_path=str(folder / "empty.pth"))
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = folder / "random-inception.pth"
    torch.save(model.state_dict(), path)
    return path


def image_sets(count: int = 4, size: int = 64) -> dict[str, torch.Tensor]:
    """Two clearly different sets in [-1, 1]: smooth colour blobs and per-pixel noise."""
    generator = torch.Generator().manual_seed(0)
    smooth = F.interpolate(torch.rand(count, 3, 4, 4, generator=generator) * 2 - 1, size=size, mode="bilinear")
    return {"smooth": smooth, "noise": torch.rand(count, 3, size, size, generator=generator) * 2 - 1}


@pytest.fixture(scope="module")
def features(weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random weights: not the standard file's SHA-256
        return {name: inception.inception_features(images, weights) for name, images in image_sets().items()}


def test_features_have_inception_shape_and_are_deterministic(weights, features):
    assert features["smooth"].shape == (4, 2048) and features["smooth"].dtype == torch.float64
    assert features["smooth"].std() > 1e-3, "random weights should still give informative features"
    with pytest.warns(UserWarning):
        again = inception.inception_features(image_sets()["smooth"], weights, batch_size=3)
    torch.testing.assert_close(again, features["smooth"], rtol=1e-5, atol=1e-6)


def test_frechet_distance_in_inception_space(features):
    between = frechet_distance(features["smooth"], features["noise"])
    itself = frechet_distance(features["smooth"], features["smooth"])
    assert between > 0
    assert abs(itself) < 1e-6 * between


def test_missing_weights_say_where_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        inception.load_inception(tmp_path / inception.WEIGHTS_NAME)
    message = str(error.value)
    assert inception.WEIGHTS_NAME in message and inception.WEIGHTS_URL in message and inception.OPTION in message


def test_missing_torch_fidelity_says_how_to_install_it(weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)  # import fails
    with pytest.raises(ImportError, match="pip install torch-fidelity"):
        inception.load_inception(weights)


code_ran = []


def record(value):
    code_ran.append(value)
    return value


class Payload:
    """Unpickling it calls ``record``: what a malicious weights file would do with ``os.system``."""

    def __reduce__(self):
        return record, ("unpickled",)


@pytest.mark.parametrize("content", [{"fc.weight": torch.zeros(2), "hook": record}, {"fc.weight": Payload()}],
                         ids=["function", "object"])
def test_weights_with_pickled_code_are_refused(tmp_path, monkeypatch, content):
    path = tmp_path / "pickled.pth"
    torch.save(content, path)
    code_ran.clear()

    def never(*args, **kwargs):
        raise AssertionError("the file reached torch-fidelity's unpickling load")

    monkeypatch.setattr(fidelity_inception, "FeatureExtractorInceptionV3", never)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        inception.load_inception(path)
    assert code_ran == []


def test_a_file_that_is_no_state_dict_is_refused(tmp_path):
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="list"):
        inception.load_inception(tmp_path / "list.pth")


def test_other_weights_warn_and_the_standard_ones_do_not(weights, monkeypatch):
    with pytest.warns(UserWarning, match="not comparable with published FIDs"):
        inception.load_inception(weights)
    monkeypatch.setattr(inception, "WEIGHTS_SHA256_PREFIX", checkpoints.file_digest(weights)[:8])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inception.load_inception(weights)
