"""spade_lib.official: the official configurations (parameter counts, state-dict names and shapes) and checkpoint
round trips in both spectral-norm namings, with the errors a wrong checkpoint gets."""
from pathlib import Path

import pytest
import torch

from spade_lib import official
from spade_lib.discriminator import MultiscaleDiscriminator
from spade_lib.encoder import StyleEncoder
from spade_lib.generator import SPADEGenerator


KEYS = Path(__file__).parent / "official_keys"  # copied from the official code's state dicts


def official_shapes(name):
    """{key: shape} from official_keys/keys_<name>.txt (lines "key 64x3x3x3", or "key scalar")."""
    shapes = {}
    for line in (KEYS / f"keys_{name}.txt").read_text().splitlines():
        key, shape = line.split()
        shapes[key] = () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))
    return shapes


def build(name):
    """An official network by its keys-file name, e.g. "G_cityscapes_vae", "D_coco", "E_ade20k"."""
    if name == "E_custom_crop128":
        return StyleEncoder(128)
    kind, dataset, *vae = name.split("_")
    return {"G": lambda: official.generator(dataset, use_vae=bool(vae)), "D": lambda: official.discriminator(dataset),
            "E": official.encoder}[kind]()


PARAMETERS = {"G_ade20k": 96_492_483, "G_cityscapes": 93_048_003, "G_coco": 97_480_899, "G_ade20k_vae": 111_942_595,
              "D_ade20k": 5_836_930, "D_cityscapes": 5_601_410, "D_coco": 5_904_514, "E_ade20k": 10_463_424}


@pytest.mark.parametrize("name", sorted(p.stem[len("keys_"):] for p in KEYS.glob("keys_*.txt")))
def test_names_shapes_and_parameter_count_equal_the_official(name):
    module = build(name)
    ours = {key: tuple(value.shape) for key, value in official.official_state_dict(module).items()}
    assert ours == official_shapes(name)
    if name in PARAMETERS:  # spectral norm: weight_orig counts, u and v are buffers (as in the official count)
        assert sum(p.numel() for p in module.parameters()) == PARAMETERS[name]


def test_official_configurations():
    cityscapes, ade20k = official.official_dataset("cityscapes"), official.official_dataset("ade20k")
    assert (cityscapes.label_channels, cityscapes.width, cityscapes.aspect_ratio, cityscapes.upsampling) == \
        (36, 512, 2.0, "more")
    G = SPADEGenerator(cityscapes.label_channels, cityscapes.width, cityscapes.aspect_ratio, cityscapes.upsampling,
                       ngf=1, spade_hidden=1)
    assert (G.height, G.width, G.sh, G.sw) == (256, 512, 4, 8)
    assert ade20k.label_channels == 151 and official.official_dataset("coco").label_channels == 184
    with pytest.raises(ValueError, match="unknown dataset 'ade'.*ade20k, cityscapes, coco"):
        official.generator("ade")
    with pytest.raises(ValueError, match="unknown dataset"):
        official.discriminator("kitti")


def to_new_spectral_norm_names(state_dict):
    """What a checkpoint saved with torch.nn.utils.parametrizations.spectral_norm calls the same tensors."""
    new = {}
    for key, value in state_dict.items():
        for old_suffix, new_suffix in [("weight_orig", "parametrizations.weight.original"),
                                       ("weight_u", "parametrizations.weight.0._u"),
                                       ("weight_v", "parametrizations.weight.0._v")]:
            if key.endswith(old_suffix):
                key = key[:-len(old_suffix)] + new_suffix
        new[key] = value
    return new


def small_networks(label_channels=6):
    torch.manual_seed(0)
    return [SPADEGenerator(label_channels, width=32, ngf=4, spade_hidden=8),
            SPADEGenerator(label_channels, width=32, ngf=4, spade_hidden=8, use_vae=True, z_dim=8),
            MultiscaleDiscriminator(label_channels + 3, ndf=4),
            StyleEncoder(32, ndf=4, z_dim=8)]


def run(module, seed=1):
    """Eval-mode outputs on fixed input."""
    torch.manual_seed(seed)
    module.eval()
    labels = torch.randint(0, 6, (2, 32, 32))
    if isinstance(module, SPADEGenerator):
        return [module(labels, torch.randn(2, 8) if module.use_vae else None)]
    if isinstance(module, MultiscaleDiscriminator):
        return [f for scale in module(labels, torch.randn(2, 3, 32, 32)) for f in scale]
    return list(module(torch.randn(2, 3, 32, 32)))


def test_round_trip_gives_identical_outputs_in_both_namings(tmp_path):
    trained = small_networks()
    for module in trained:  # move spectral norm's u, v and batch norm's running stats away from their init
        module.train()
        run(module)
    for naming in ["old", "new", "file"]:
        for source, target in zip(trained, small_networks()):
            state = official.official_state_dict(source)
            if naming == "new":
                state = to_new_spectral_norm_names(state)
            if naming == "file":
                torch.save(state, tmp_path / "net.pth")
                state = tmp_path / "net.pth"
            official.load_official(target, state)
            for a, b in zip(run(source), run(target)):
                assert torch.equal(a, b), naming


def test_label_channel_mismatch_names_the_dataset():
    ade = official.official_state_dict(SPADEGenerator(151, width=32, ngf=4, spade_hidden=8))
    with pytest.raises(ValueError, match=r"fc.weight has 151 label channels in the checkpoint but the model has 36: "
                                         r"the checkpoint is for ADE20K \(150 classes \+ don't care\)"):
        official.load_official(SPADEGenerator(36, width=32, ngf=4, spade_hidden=8), ade)
    coco = official.official_state_dict(MultiscaleDiscriminator(184 + 3, ndf=4))
    with pytest.raises(ValueError, match=r"model0.0.weight has 184 label channels in the checkpoint but the model has "
                                         r"151: the checkpoint is for COCO-Stuff \(182 classes \+ don't care \+ "
                                         r"instance edges\)"):
        official.load_official(MultiscaleDiscriminator(151 + 3, ndf=4), coco)
    custom = official.official_state_dict(SPADEGenerator(12, width=32, ngf=4, spade_hidden=8))
    with pytest.raises(ValueError, match="12 = classes .* matches no official dataset"):
        official.load_official(SPADEGenerator(13, width=32, ngf=4, spade_hidden=8), custom)


def test_other_mismatches_get_clear_errors():
    G, G_vae, D, E = small_networks()
    with pytest.raises(ValueError, match="starts from a style vector z; build it with use_vae=True"):
        official.load_official(G, official.official_state_dict(G_vae))
    with pytest.raises(ValueError, match="does not fit this SPADEGenerator: 0 keys missing .* 1 unexpected "
                                         r"\(extra.weight\)"):
        official.load_official(G, {**official.official_state_dict(G), "extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"does not fit this StyleEncoder: 3 keys missing \(layer3.0.weight_orig"):
        official.load_official(E, official.official_state_dict(StyleEncoder(16, ndf=4, z_dim=8)))
    with pytest.raises(ValueError, match="does not fit this MultiscaleDiscriminator"):
        official.load_official(D, official.official_state_dict(G))
    wide = official.official_state_dict(SPADEGenerator(6, width=32, ngf=8, spade_hidden=8))
    with pytest.raises(ValueError, match="has shape .* in the checkpoint but .* in the model: .* widths"):
        official.load_official(G, wide)
    with pytest.raises(TypeError, match="expected a SPADEGenerator, MultiscaleDiscriminator or StyleEncoder"):
        official.official_state_dict(torch.nn.Linear(2, 2))
