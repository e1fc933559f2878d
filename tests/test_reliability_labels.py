"""Label maps and style images as users have them (issue 11): any integer dtype, uint8 pixels, and plain ids
refused by a generator whose last label channel is the instance-edge map."""
import dataclasses

import numpy as np
import pytest
import torch

from spade_lib.labels import LabelMap, check_labels, make_segmap, one_hot
from spade_lib.landscapes import NUM_CLASSES
from spade_lib.models import PRESETS, build_encoder, build_generator, generate

TINY = dataclasses.replace(PRESETS["classroom"], size=32, ngf=8, spade_hidden=16, z_dim=16)


def layout() -> torch.Tensor:
    ids = torch.zeros(1, 32, 32, dtype=torch.long)
    ids[:, 16:] = 6  # sky above grass
    ids[:, 24:, 8:20] = 3
    return ids


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_every_integer_dtype_is_accepted_and_cast_once(dtype):
    ids = layout()
    assert check_labels(ids.to(dtype), NUM_CLASSES).dtype == torch.long
    assert torch.equal(one_hot(ids.to(dtype), NUM_CLASSES), one_hot(ids, NUM_CLASSES))
    assert LabelMap(ids.to(dtype), NUM_CLASSES).labels.dtype == torch.long


def test_uint8_ids_from_a_png_array_run_through_a_generator():
    generator = build_generator(dataclasses.replace(TINY, use_vae=False, instance_edges=False)).eval()
    ids = layout()
    from_png = torch.from_numpy(np.array(ids[0].numpy(), dtype=np.uint8))[None]  # what np.array(Image) gives
    torch.testing.assert_close(generator(from_png), generator(ids), rtol=0, atol=0)


def test_plain_ids_are_refused_by_a_generator_with_the_instance_edge_channel():
    generator = build_generator(TINY).eval()  # classroom: 11 classes + the instance-edge map
    assert generator.instance_edges and generator.label_channels == NUM_CLASSES + 1
    ids = torch.full((1, 32, 32), NUM_CLASSES, dtype=torch.long)  # before: read as the edge channel
    with pytest.raises(ValueError, match=r"plain class ids carry no edges: pass make_segmap\(ids, 11, instances\)"):
        generator(ids)
    with pytest.raises(ValueError, match="carry no edges"):
        generator(layout())
    assert generator(make_segmap(layout(), NUM_CLASSES, layout())).shape == (1, 3, 32, 32)  # the way that works


def test_style_images_as_uint8_or_floats_in_0_255():
    config = TINY
    generator, encoder = build_generator(config).eval(), build_encoder(config).eval()
    segmap = make_segmap(layout(), NUM_CLASSES, layout())
    pixels = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    as_floats = pixels.float() / 127.5 - 1
    torch.testing.assert_close(generate(generator, encoder, segmap, style_images=pixels),
                               generate(generator, encoder, segmap, style_images=as_floats), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"float images must be in \[-1, 1\]: for 0..255 pixels use images / 127.5"):
        generate(generator, encoder, segmap, style_images=pixels.float())
