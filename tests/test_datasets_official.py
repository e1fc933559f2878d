"""ADE20K, Cityscapes and COCO-Stuff read from tiny files in their official layouts: ids, don't care, instance
edges, the official channel counts (151, 36, 184), flips shared by label, instance and photo, default options,
class tables, and bad input."""
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from spade_lib.datasets import (ADE20K, ADE20K_CLASSES, ADE20K_COLOURS, CITYSCAPES_CLASSES, CITYSCAPES_COLOURS,
                                COCO_STUFF_CLASSES, COCO_STUFF_COLOURS, Cityscapes, CocoStuff, Preprocess)
from spade_lib.datasets.classes import COCO_STUFF_UNUSED

# 4 x 4 ADE20K ids as stored: 0 = unknown, 1 = wall, ..., 150 = flag
ADE_IDS = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [150, 149, 0, 1], [10, 20, 30, 40]])
SAME_SIZE = dict(load_size=8, crop_size=8, flip=False)  # resize 4 -> 8: every pixel a 2 x 2 block


class Flip:
    """random-module stand-in: crop corner (0, 0), flip or not."""

    def __init__(self, flip):
        self.flip = flip

    def randint(self, low, high):
        return low

    def random(self):
        return 0.9 if self.flip else 0.1


def save(path, array, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return path


def photo(height, width, seed=0):
    """An asymmetric photo: a left-to-right ramp plus noise, so a flip is visible."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, width)[None, :, None] + rng.integers(0, 50, (height, width, 3))
    return ramp.astype(np.uint8)


def twice(a):
    return np.repeat(np.repeat(a, 2, 0), 2, 1)


def ade_root(tmp_path, ids=ADE_IDS, split="train", index=1):
    folder = {"train": "training", "val": "validation"}[split]
    name = f"ADE_{split}_{index:08d}"
    save(tmp_path / "images" / folder / f"{name}.jpg", photo(*ids.shape[:2]), quality=95)
    save(tmp_path / "annotations" / folder / f"{name}.png", ids.astype(np.uint8))
    return tmp_path


# ----------------------------------------------------------------------------------------------------------------
# ADE20K


def test_ade20k_ids_as_the_official_pipeline_sees_them(tmp_path):
    ds = ADE20K(ade_root(tmp_path), preprocess=Preprocess("resize_and_crop", **SAME_SIZE))
    sample = ds[0]
    assert set(sample) == {"label", "image", "path"}  # no instance maps in ADE20K (official --no_instance)
    assert sample["label"].dtype == torch.long
    np.testing.assert_array_equal(sample["label"].numpy(), twice(ADE_IDS))
    assert ds.num_classes == 150 and ds.contain_dontcare and ds.label_channels == 151
    dense = ds.segmap(sample).one_hot()
    assert dense.shape == (1, 151, 8, 8)
    assert torch.equal(dense[0, 0], torch.from_numpy(twice(ADE_IDS) == 0).float())  # "unknown" in channel 0
    assert torch.equal(dense[0, 150], torch.from_numpy(twice(ADE_IDS) == 150).float())  # flag in channel 150
    assert ds.class_names[0] == "unknown" and ds.class_names[1] == "wall" and ds.class_names[150] == "flag"
    assert len(ds.class_names) == len(ds.palette) == 151
    for dataset in (ADE20K, Cityscapes, CocoStuff):  # the painter needs them without the data
        assert len(dataset.class_names) == len(dataset.palette) == dataset.num_classes + dataset.contain_dontcare
    assert ADE20K.class_names == ds.class_names and (ADE20K.palette == ds.palette).all()


def test_ade20k_official_postprocess_leaves_the_label_unchanged():
    """Why shift_labels defaults to False: data/ade20k_dataset.py's postprocess, re-stated, rebinds a local name
    and returns nothing, so the label the official model trains and tests on is the stored one."""
    def official_postprocess(input_dict, label_nc=150):
        label = input_dict["label"]
        label = label - 1
        label[label == -1] = label_nc

    stored = torch.tensor([[0.0, 1.0, 150.0]])
    batch = {"label": stored.clone()}
    official_postprocess(batch)
    assert torch.equal(batch["label"], stored)


def test_ade20k_shift_labels_gives_the_intended_mapping(tmp_path):
    ds = ADE20K(ade_root(tmp_path), preprocess=Preprocess("resize_and_crop", **SAME_SIZE), shift_labels=True)
    expected = np.where(ADE_IDS == 0, 150, ADE_IDS - 1)  # label - 1, unknown -> don't care (id 150)
    np.testing.assert_array_equal(ds[0]["label"].numpy(), twice(expected))
    assert ds.class_names[0] == "wall" and ds.class_names[150] == "don't care" and len(ds.class_names) == 151
    assert ds.segmap(ds[0]).one_hot().shape[1] == 151


def test_ade20k_splits_and_official_defaults(tmp_path):
    ade_root(tmp_path, split="train", index=1)
    ade_root(tmp_path, np.full((300, 500), 5), split="train", index=2)
    ade_root(tmp_path, np.full((20, 30), 7), split="val", index=1)
    train, val = ADE20K(tmp_path), ADE20K(tmp_path, split="val")
    assert len(train) == 2 and len(val) == 1
    assert train.preprocess == Preprocess("resize_and_crop", load_size=286, crop_size=256, flip=True)
    assert val.preprocess == Preprocess("resize_and_crop", load_size=256, crop_size=256, flip=False)
    for sample in (train[1], val[0]):
        assert sample["label"].shape == (256, 256) and sample["image"].shape == (3, 256, 256)
    assert val[0]["label"].eq(7).all() and "ADE_val_" in val[0]["path"]
    with pytest.raises(ValueError, match="split must be one of train, val"):
        ADE20K(tmp_path, split="test")


def test_ade20k_refuses_ids_out_of_range_naming_file_id_and_fix(tmp_path):
    ids = ADE_IDS.copy()
    ids[0, 0] = 151
    ds = ADE20K(ade_root(tmp_path, ids))
    with pytest.raises(ValueError, match=r"ADE_train_00000001\.png.* 151 .*SceneParsing"):
        ds[0]


def test_ade20k_refuses_an_rgb_label(tmp_path):
    ade_root(tmp_path)
    save(tmp_path / "annotations" / "training" / "ADE_train_00000001.png", photo(4, 4))
    with pytest.raises(ValueError, match=r"ADE_train_00000001\.png is a RGB image, not a label map"):
        ADE20K(tmp_path)[0]


def test_corrupt_files_are_named(tmp_path):
    ade_root(tmp_path, np.random.default_rng(0).integers(0, 151, (64, 64)))
    label = tmp_path / "annotations" / "training" / "ADE_train_00000001.png"
    label.write_bytes(label.read_bytes()[:2000])  # a cut download
    with pytest.raises(ValueError, match=r"ADE_train_00000001\.png could not be read"):
        ADE20K(tmp_path)[0]
    label.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match=r"ADE_train_00000001\.png is not an image file"):
        ADE20K(tmp_path)[0]
    ade_root(tmp_path)
    (tmp_path / "images" / "training" / "ADE_train_00000001.jpg").write_bytes(b"\xff\xd8 garbage")
    with pytest.raises(ValueError, match=r"photo .*ADE_train_00000001\.jpg"):
        ADE20K(tmp_path)[0]


def test_missing_pairs_and_empty_folders_are_listed(tmp_path):
    ade_root(tmp_path, index=1)
    ade_root(tmp_path, index=2)
    ade_root(tmp_path, index=3)
    (tmp_path / "images" / "training" / "ADE_train_00000002.jpg").unlink()
    (tmp_path / "annotations" / "training" / "ADE_train_00000003.png").unlink()
    with pytest.raises(ValueError, match=r"1 label maps without a photo: .*ADE_train_00000002\.png; "
                                         r"1 photos without a label map: .*ADE_train_00000003\.jpg"):
        ADE20K(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no image files in .*empty"):
        ADE20K(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ADE20K(tmp_path / "nowhere")


def test_photo_and_label_of_different_sizes_are_refused(tmp_path):
    ade_root(tmp_path)
    save(tmp_path / "images" / "training" / "ADE_train_00000001.jpg", photo(5, 4))
    with pytest.raises(ValueError, match="is 4x5 but its label map .* is 4x4"):
        ADE20K(tmp_path)[0]


# ----------------------------------------------------------------------------------------------------------------
# Cityscapes

CITY_LABEL = np.array([[23] * 8] + [[26, 26, 26, 26, 7, 7, 7, 7]] * 3)  # sky over two cars and a road
CITY_INSTANCE = np.array([[23] * 8] + [[26000, 26000, 26001, 26001, 7, 7, 7, 7]] * 3)
CITY_EDGES = np.array([[1] * 8, [1] * 8, [0, 1, 1, 1, 1, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0, 0]])  # by hand


def city_root(tmp_path, split="train", frame="aachen_000000_000019", instance=True):
    city = frame.split("_")[0]
    save(tmp_path / "leftImg8bit" / split / city / f"{frame}_leftImg8bit.png", photo(4, 8))
    save(tmp_path / "gtFine" / split / city / f"{frame}_gtFine_labelIds.png", CITY_LABEL.astype(np.uint8))
    save(tmp_path / "gtFine" / split / city / f"{frame}_gtFine_color.png", photo(4, 8, seed=1))  # ignored
    if instance:  # 16-bit, as the real files
        save(tmp_path / "gtFine" / split / city / f"{frame}_gtFine_instanceIds.png", CITY_INSTANCE.astype(np.uint16))
    return tmp_path


def test_cityscapes_ids_instances_and_36_channels(tmp_path):
    ds = Cityscapes(city_root(tmp_path), preprocess=Preprocess("fixed", crop_size=8, aspect_ratio=2.0, flip=False))
    sample = ds[0]
    np.testing.assert_array_equal(sample["label"].numpy(), CITY_LABEL)
    np.testing.assert_array_equal(sample["instance"].numpy(), CITY_INSTANCE)  # ids above 255 survive
    assert ds.num_classes == 35 and not ds.contain_dontcare and ds.label_channels == 36
    segmap = ds.segmap(sample)
    np.testing.assert_array_equal(segmap.edges[0].numpy(), CITY_EDGES)
    dense = segmap.one_hot()
    assert dense.shape == (1, 36, 4, 8)
    assert torch.equal(dense[0, 35], torch.from_numpy(CITY_EDGES).float())  # the edge channel comes last
    assert torch.equal(dense[0, 26], torch.from_numpy(CITY_LABEL == 26).float())
    assert ds.class_names[26] == "car" and len(ds.class_names) == len(ds.palette) == 35


def test_cityscapes_official_size_and_flip_shared_by_label_instance_and_photo(tmp_path):
    city_root(tmp_path)
    val = Cityscapes(tmp_path, split="train", preprocess=Cityscapes.official_preprocess(train=False))
    sample = val[0]
    assert sample["label"].shape == (256, 512) and sample["image"].shape == (3, 256, 512)
    blocks = np.kron(CITY_LABEL, np.ones((64, 64), int))  # nearest 4 x 8 -> 256 x 512: 64 x 64 blocks
    np.testing.assert_array_equal(sample["label"].numpy(), blocks)
    plain = Cityscapes(tmp_path, rng=Flip(False))[0]
    flipped = Cityscapes(tmp_path, rng=Flip(True))[0]
    for key in ("label", "instance", "image"):
        assert torch.equal(flipped[key], plain[key].flip(-1)), key
    assert not torch.equal(flipped["image"], plain["image"])


def test_cityscapes_16_bit_instances_resize_as_the_file(tmp_path):
    ds = Cityscapes(city_root(tmp_path), preprocess=Preprocess("resize_and_crop", load_size=7, crop_size=7, flip=False))
    official = Image.open(ds.pairs[0].instance).resize((7, 7), Image.NEAREST)  # the file as it is: mode I;16
    np.testing.assert_array_equal(ds[0]["instance"].numpy(), np.array(official))


def test_cityscapes_pairs_by_frame_and_can_drop_instances(tmp_path):
    city_root(tmp_path)
    city_root(tmp_path, frame="bremen_000001_000019", instance=False)
    with pytest.raises(ValueError, match=r"1 label maps without an instance map: .*bremen_000001_000019"):
        Cityscapes(tmp_path)
    ds = Cityscapes(tmp_path, instances=False)
    assert len(ds) == 2 and ds.label_channels == 35 and "instance" not in ds[0]
    save(tmp_path / "leftImg8bit" / "train" / "bremen" / "bremen_000002_000019_leftImg8bit.png", photo(4, 8))
    with pytest.raises(ValueError, match=r"1 photos without a label map: .*bremen_000002_000019_leftImg8bit"):
        Cityscapes(tmp_path, instances=False)


def test_cityscapes_explains_train_ids(tmp_path):
    city_root(tmp_path)
    save(tmp_path / "gtFine" / "train" / "aachen" / "aachen_000000_000019_gtFine_labelIds.png",
         np.full((4, 8), 255, np.uint8))
    with pytest.raises(ValueError, match=r"labelIds\.png holds class ids 255 .*trainIds"):
        Cityscapes(tmp_path)[0]


# ----------------------------------------------------------------------------------------------------------------
# COCO-Stuff

COCO_LABEL = np.array([[0, 0, 255, 181], [0, 0, 255, 181], [156, 156, 1, 1], [156, 156, 1, 1]])
COCO_INSTANCE = np.array([[0, 0, 255, 181], [0, 0, 255, 181], [156, 156, 1, 2], [156, 156, 1, 2]])


def coco_root(tmp_path, split="train", name="000000000139", kind=""):
    save(tmp_path / f"{split}_img{kind}" / f"{name}.jpg", photo(4, 4), quality=95)
    save(tmp_path / f"{split}_label{kind}" / f"{name}.png", COCO_LABEL.astype(np.uint8))
    save(tmp_path / f"{split}_inst{kind}" / f"{name}.png", COCO_INSTANCE.astype(np.uint8))
    return tmp_path


def test_coco_dont_care_edges_and_184_channels(tmp_path):
    ds = CocoStuff(coco_root(tmp_path), preprocess=Preprocess("resize_and_crop", **SAME_SIZE))
    sample = ds[0]
    expected = np.where(COCO_LABEL == 255, 182, COCO_LABEL)  # official: label 255 -> label_nc
    np.testing.assert_array_equal(sample["label"].numpy(), twice(expected))
    np.testing.assert_array_equal(sample["instance"].numpy(), twice(COCO_INSTANCE))
    assert ds.num_classes == 182 and ds.contain_dontcare and ds.label_channels == 184
    dense = ds.segmap(sample).one_hot()
    assert dense.shape == (1, 184, 8, 8)
    assert torch.equal(dense[0, 182], torch.from_numpy(twice(COCO_LABEL) == 255).float())  # don't care channel
    edges = dense[0, 183].numpy()
    assert edges[0, 3] == 1 and edges[0, 4] == 1  # 0 | 255 boundary, both sides
    assert edges[4, 5] == 1 and edges[4, 6] == 1  # instance 1 | instance 2, same class 1
    assert edges[0, 0] == 0 and edges[7, 0] == 0
    assert ds.class_names[0] == "person" and ds.class_names[182] == "don't care" and len(ds.palette) == 183


def test_coco_portraits_splits_and_no_instance(tmp_path):
    coco_root(tmp_path)
    coco_root(tmp_path, name="000000000285", kind="_portrait")
    coco_root(tmp_path, split="val", name="000000000632")
    assert len(CocoStuff(tmp_path)) == 2 and len(CocoStuff(tmp_path, portraits=False)) == 1
    val = CocoStuff(tmp_path, split="val")
    assert len(val) == 1 and val.preprocess.load_size == 256 and not val.preprocess.flip
    no_instance = CocoStuff(tmp_path, instances=False)
    assert no_instance.label_channels == 183 and "instance" not in no_instance[0]
    batch = next(iter(DataLoader(CocoStuff(tmp_path), batch_size=2)))
    assert batch["label"].shape == (2, 256, 256) and batch["instance"].shape == (2, 256, 256)
    assert CocoStuff(tmp_path).segmap(batch).one_hot().shape == (2, 184, 256, 256)


def test_coco_flip_is_shared(tmp_path):
    coco_root(tmp_path)
    options = dict(preprocess=Preprocess("resize_and_crop", load_size=8, crop_size=8, flip=True))
    plain = CocoStuff(tmp_path, rng=Flip(False), **options)[0]
    flipped = CocoStuff(tmp_path, rng=Flip(True), **options)[0]
    for key in ("label", "instance", "image"):
        assert torch.equal(flipped[key], plain[key].flip(-1)), key


def test_coco_missing_folder_is_named(tmp_path):
    coco_root(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"val_label does not exist"):
        CocoStuff(tmp_path, split="val")


# ----------------------------------------------------------------------------------------------------------------
# Class tables


def test_class_tables_have_the_official_counts():
    assert len(ADE20K_CLASSES) == 150 and len(set(ADE20K_CLASSES)) == 150
    assert ADE20K_COLOURS.shape == (150, 3) and ADE20K_COLOURS.dtype == np.uint8
    assert ADE20K_CLASSES[:3] == ("wall", "building", "sky") and ADE20K_CLASSES[-1] == "flag"
    assert tuple(ADE20K_COLOURS[0]) == (120, 120, 120) and tuple(ADE20K_COLOURS[-1]) == (92, 0, 255)
    assert len(CITYSCAPES_CLASSES) == 35 and CITYSCAPES_COLOURS.shape == (35, 3)
    assert CITYSCAPES_CLASSES.index("road") == 7 and tuple(CITYSCAPES_COLOURS[7]) == (128, 64, 128)
    assert CITYSCAPES_CLASSES.index("bicycle") == 33 and CITYSCAPES_CLASSES[34] == "license plate"
    assert len(COCO_STUFF_CLASSES) == 182 and len(set(COCO_STUFF_CLASSES)) == 182
    assert COCO_STUFF_CLASSES[0] == "person" and COCO_STUFF_CLASSES[181] == "wood"
    assert COCO_STUFF_CLASSES[90] == "hair brush" and COCO_STUFF_CLASSES[91] == "banner"  # things | stuff
    assert [COCO_STUFF_CLASSES.index(n) for n in COCO_STUFF_UNUSED] == [11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90]
    assert COCO_STUFF_COLOURS.shape == (182, 3) and len({tuple(c) for c in COCO_STUFF_COLOURS}) == 182


def test_coco_refuses_ids_out_of_range(tmp_path):
    coco_root(tmp_path)
    save(tmp_path / "train_label" / "000000000139.png", np.full((4, 4), 200, np.uint8))
    with pytest.raises(ValueError, match=r"000000000139\.png holds class ids 200 outside .*stuffthingmaps"):
        CocoStuff(tmp_path)[0]


def test_verify_lists_every_sample_that_cannot_be_used(tmp_path):
    for index in (1, 2, 3):
        ade_root(tmp_path, index=index)
    ADE20K(tmp_path).verify(show_progress=False)  # all good: no error
    save(tmp_path / "annotations" / "training" / "ADE_train_00000001.png", np.full((4, 4), 200, np.uint8))
    (tmp_path / "images" / "training" / "ADE_train_00000003.jpg").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"2 of 3 samples cannot be used:\n.*ADE_train_00000001\.png holds class ids "
                                         r"200.*\n.*ADE_train_00000003\.jpg is not an image"):
        ADE20K(tmp_path).verify(show_progress=False)
