"""The SPADE generator with CLADE layers in its residual blocks (``modulation="clade"``, lesson 12)."""
import pytest
import torch
import torch.nn.functional as F

from spade_lib.generator import SPADEGenerator, SPADEResBlock, clade_segmap
from spade_lib.labels import LabelMap
from spade_lib.norms import CLADE, SPADE

CLASSES, SIZE = 5, 32


def clade_generator(label_channels=CLASSES, **kwargs):
    return SPADEGenerator(label_channels, width=SIZE, ngf=8, spade_hidden=16, modulation="clade", **kwargs)


def all_classes_labels(batch=2):
    """(batch, SIZE, SIZE) ids with every class present: vertical stripes."""
    stripes = torch.arange(SIZE)[None, :].expand(SIZE, SIZE) * CLASSES // SIZE
    return stripes[None].repeat(batch, 1, 1).clone()


def test_every_block_norm_is_clade_and_spade_stays_the_default():
    clade = clade_generator()
    norms = [m for name, m in clade.named_modules() if name.split(".")[-1] in ("norm_0", "norm_1", "norm_s")]
    assert norms and all(isinstance(m, CLADE) for m in norms)
    assert not any(isinstance(m, SPADE) for m in clade.modules())
    spade = SPADEGenerator(CLASSES, width=SIZE, ngf=8, spade_hidden=16)
    assert all(isinstance(m, SPADE) for name, m in spade.named_modules() if name.endswith("norm_0"))
    # same blocks, same convolutions: only the normalizations differ
    convs = {n: p.shape for n, p in spade.named_parameters() if ".norm_" not in n}
    assert convs == {n: p.shape for n, p in clade.named_parameters() if ".norm_" not in n}


def test_clade_generator_has_the_tables_instead_of_spade_convs():
    clade, spade = clade_generator(), SPADEGenerator(CLASSES, width=SIZE, ngf=8, spade_hidden=16)
    tables = sum(m.cost().params for m in clade.modules() if isinstance(m, CLADE))
    spade_convs = sum(m.cost().params for m in spade.modules() if isinstance(m, SPADE))
    count = lambda g: sum(p.numel() for p in g.parameters())
    assert count(spade) - count(clade) == spade_convs - tables
    assert count(clade) < count(spade)


@pytest.mark.parametrize("upsampling,width,aspect_ratio,shape", [
    ("normal", 32, 1.0, (32, 32)), ("more", 128, 2.0, (64, 128)), ("most", 128, 1.0, (128, 128))])
def test_shapes(upsampling, width, aspect_ratio, shape):
    g = SPADEGenerator(CLASSES, width=width, aspect_ratio=aspect_ratio, upsampling=upsampling, ngf=8,
                       modulation="clade")
    out = g(torch.randint(0, CLASSES, (2, *shape)))
    assert out.shape == (2, 3, *shape) and out.abs().max() <= 1


def test_every_segmap_form_gives_the_same_image_with_and_without_edges():
    torch.manual_seed(1)
    g = clade_generator(CLASSES + 1).eval()
    with torch.no_grad():  # tables away from zero, so that each class and the edge row matter
        for m in g.modules():
            if isinstance(m, CLADE):
                m.gamma.weight.normal_(0, 0.5)
                m.beta.weight.normal_(0, 0.5)
    labels = all_classes_labels()
    edges = (torch.rand(labels.shape) < 0.2).float()
    segmap = LabelMap(labels, CLASSES, edges)
    with torch.no_grad():
        from_labelmap = g(segmap)
        from_one_hot = g(segmap.one_hot())
        without_edges = g(LabelMap(labels, CLASSES, torch.zeros_like(edges)))
    torch.testing.assert_close(from_labelmap, from_one_hot)
    assert (from_labelmap - without_edges).abs().max() > 1e-3  # the edge row is used
    # without an edge channel, ids take CLADE's lookup path: same image as the one-hot map
    g5 = clade_generator().eval()
    with torch.no_grad():
        for m in g5.modules():
            if isinstance(m, CLADE):
                m.gamma.weight.normal_(0, 0.5)
        torch.testing.assert_close(g5(labels), g5(F.one_hot(labels, CLASSES).permute(0, 3, 1, 2).float()))


def test_clade_segmap_makes_the_dense_map_only_for_edges():
    labels = all_classes_labels()
    assert clade_segmap(labels) is labels
    plain = LabelMap(labels, CLASSES)
    assert clade_segmap(plain) is plain
    with_edges = LabelMap(labels, CLASSES, torch.zeros(labels.shape))
    assert torch.equal(clade_segmap(with_edges), with_edges.one_hot())


def test_a_class_table_row_changes_the_image_only_where_that_class_is():
    g = clade_generator().eval()
    labels = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
    labels[:, :, SIZE // 2:] = 1  # class 0 left, class 1 right; classes 2-4 absent
    with torch.no_grad():
        before = g(labels)
        g.up_3.norm_1.beta.weight[3] += 1.0  # an absent class: nothing changes
        torch.testing.assert_close(g(labels), before)
        g.up_3.norm_1.beta.weight[1] += 1.0  # class 1, in the last block: the right half changes
        change = (g(labels) - before).abs().mean(1)[0]  # (H, W)
    assert change[:, SIZE // 2 + 2:].min() > 0 and change[:, :SIZE // 2 - 2].max() == 0


def test_gradient_reaches_every_parameter():
    g = clade_generator(CLASSES + 1)
    # batch 4: at the 1x1 start grid, batch norm over 2 values gives +-1 whatever its input, and no gradient
    segmap = LabelMap(all_classes_labels(4), CLASSES, (torch.rand(4, SIZE, SIZE) < 0.3).float())
    g(segmap).square().mean().backward()
    missing = [n for n, p in g.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


def test_a_few_steps_fit_a_tiny_batch(colour_fit_losses):
    g = clade_generator()
    labels = all_classes_labels()
    losses = colour_fit_losses(g, labels, CLASSES)
    assert losses[-1] < 0.8 * losses[0], losses


def test_bad_modulation_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="modulation must be one of"):
        SPADEGenerator(CLASSES, width=SIZE, modulation="adain")
    with pytest.raises(ValueError, match="modulation must be one of"):
        SPADEResBlock(8, 8, CLASSES, modulation="batch")
