"""LabelFolder (your own photos + label maps) and make_fixture: every label format, palette files, the 0/255 mask
rule, bad input with its message, and the fake datasets lesson 11 reads on machines without the real data."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from spade_lib.datasets import (ADE20K, DATASETS, Cityscapes, CocoStuff, LabelFolder, Preprocess, load_palette,
                                make_fixture)
from spade_lib.labels import label_png_bytes

IDS = np.array([[0, 1, 2, 2], [0, 1, 2, 2], [3, 3, 1, 0]])  # (3, 4)
COLOURS = np.array([(10, 20, 30), (200, 0, 0), (0, 200, 0), (0, 0, 200)], np.uint8)
KEEP = Preprocess("crop", crop_size=4, flip=False)  # crop 4 of a 3 x 4 file: one zero row at the bottom


def padded(ids):
    out = np.zeros((4, 4), np.int64)
    out[:3] = ids
    return out


def folders(tmp_path, labels: dict, photos=None):
    """images/ and labels/ under tmp_path; labels maps a file name to the bytes or array to save."""
    (tmp_path / "images").mkdir(parents=True, exist_ok=True)
    (tmp_path / "labels").mkdir(exist_ok=True)
    for name, content in labels.items():
        path = tmp_path / "labels" / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            Image.fromarray(content).save(path)
    for stem in photos if photos is not None else [name.rsplit(".", 1)[0] for name in labels]:
        Image.fromarray(np.full((3, 4, 3), 90, np.uint8)).save(tmp_path / "images" / f"{stem}.jpg")
    return tmp_path / "images", tmp_path / "labels"


def read(images, labels, **options):
    return LabelFolder(images, labels, preprocess=options.pop("preprocess", KEEP), **options)


def test_indexed_greyscale_and_16_bit_ids(tmp_path):
    images, labels = folders(tmp_path, {"a.png": label_png_bytes(IDS, COLOURS), "b.png": IDS.astype(np.uint8)})
    ds = read(images, labels, num_classes=4)
    for index in range(2):
        np.testing.assert_array_equal(ds[index]["label"].numpy(), padded(IDS))
    assert ds.label_channels == 4 and ds.class_names == ("class 0", "class 1", "class 2", "class 3")
    wide = IDS * 100  # ids up to 300 need a 16-bit PNG
    images, labels = folders(tmp_path / "wide", {"c.png": wide.astype(np.uint16)})
    np.testing.assert_array_equal(read(images, labels, num_classes=301)[0]["label"].numpy(), padded(wide))


@pytest.mark.parametrize("kind", ["json", "txt"])
def test_rgb_labels_with_a_palette_file(tmp_path, kind):
    names = ["ground", "car", "tree", "sky"]
    if kind == "json":
        entries = [{"name": n, "colour": c} for n, c in zip(names[:3], COLOURS[:3].tolist())]
        entries.append(COLOURS[3].tolist())  # a bare [r, g, b] item, no name
        (tmp_path / "palette.json").write_text(json.dumps(entries))
        palette = tmp_path / "palette.json"
    else:
        lines = [f"{r},{g},{b} {n}" for (r, g, b), n in zip(COLOURS.tolist(), names)]
        (tmp_path / "palette.txt").write_text("# r g b name\n\n" + "\n".join(lines) + "\n")
        palette = tmp_path / "palette.txt"
    images, labels = folders(tmp_path, {"a.png": COLOURS[IDS]})
    ds = read(images, labels, palette=palette)
    np.testing.assert_array_equal(ds[0]["label"].numpy(), padded(IDS))
    assert ds.num_classes == 4 and (ds.palette == COLOURS).all()
    assert ds.class_names == (tuple(names) if kind == "txt" else ("class 0", "class 1", "class 2", "class 3"))
    unknown = COLOURS[IDS].copy()
    unknown[0, 0] = (1, 2, 3)
    Image.fromarray(unknown).save(labels / "a.png")
    with pytest.raises(ValueError, match=r"a\.png has colours that are not in the palette: #010203"):
        ds[0]


def test_rgb_label_without_a_palette_says_how_to_read_it(tmp_path):
    images, labels = folders(tmp_path, {"a.png": COLOURS[IDS]})
    with pytest.raises(ValueError, match=r"a\.png is a RGB image, not a label map.*palette=<palette file>"):
        read(images, labels, num_classes=4)[0]


def test_binary_masks_follow_one_rule(tmp_path):
    mask = (IDS > 1).astype(np.uint8) * 255
    images, labels = folders(tmp_path, {"a.png": mask})
    np.testing.assert_array_equal(read(images, labels, num_classes=2)[0]["label"].numpy(), padded(mask // 255))
    with pytest.raises(ValueError, match=r"a\.png holds class ids 255 .*num_classes=2"):
        read(images, labels, num_classes=5)[0]
    dontcare = read(images, labels, num_classes=2, contain_dontcare=True)  # 255 is don't care, id 2
    np.testing.assert_array_equal(dontcare[0]["label"].numpy(), padded(np.where(mask == 255, 2, 0)))
    assert dontcare.label_channels == 3 and dontcare.class_names[-1] == "don't care"


def test_id_out_of_range_names_file_id_and_fix(tmp_path):
    ids = IDS.copy()
    ids[1, 1] = 13
    images, labels = folders(tmp_path, {"street_07.png": ids.astype(np.uint8)})
    with pytest.raises(ValueError, match=r"street_07\.png holds class ids 13 outside the valid range \[0, 13\).*"
                                         r"num_classes as at least the largest id \+ 1"):
        read(images, labels, num_classes=13)[0]


def test_unmatched_files_are_all_listed(tmp_path):
    grey = IDS.astype(np.uint8)
    images, labels = folders(tmp_path, {"a.png": grey, "b.png": grey, "c.png": grey}, photos=["a", "c", "d", "e"])
    with pytest.raises(ValueError, match=r"1 label maps without a photo: .*b\.png; "
                                         r"2 photos without a label map: .*d\.jpg, .*e\.jpg"):
        read(images, labels, num_classes=4)


def test_instance_folder_gives_edges(tmp_path):
    images, labels = folders(tmp_path, {"a.png": IDS.astype(np.uint8)})
    (tmp_path / "instances").mkdir()
    Image.fromarray((IDS * 10).astype(np.uint8)).save(tmp_path / "instances" / "a.png")
    ds = read(images, labels, num_classes=4, instance_dir=tmp_path / "instances")
    assert ds.label_channels == 5 and torch.equal(ds[0]["instance"], torch.from_numpy(padded(IDS * 10)))
    assert ds.segmap(ds[0]).one_hot().shape == (1, 5, 4, 4)


def test_bad_folders_and_options(tmp_path):
    images, labels = folders(tmp_path, {})
    with pytest.raises(FileNotFoundError, match=r"no image files in .*labels"):
        read(images, labels, num_classes=4)
    with pytest.raises(ValueError, match="needs num_classes"):
        read(images, labels)
    Image.fromarray(IDS.astype(np.uint8)).save(labels / "a.jpg")
    with pytest.raises(ValueError, match=r"a\.jpg is a JPEG.*Save label maps as PNG"):
        read(images, labels, num_classes=4)
    with pytest.raises(ValueError, match="the palette has 4 colours but num_classes is 3"):
        read(images, labels, num_classes=3, palette=COLOURS)


def test_palette_file_errors(tmp_path):
    (tmp_path / "twice.txt").write_text("1 2 3 sky\n1 2 3 sea\n")
    with pytest.raises(ValueError, match=r"twice\.txt gives the colour \(1, 2, 3\) to more than one class"):
        load_palette(tmp_path / "twice.txt")
    (tmp_path / "bad.txt").write_text("1 2 3 sky\n1 two 3 sea\n")
    with pytest.raises(ValueError, match=r"bad\.txt, line 2: expected 'r g b \[name\]'"):
        load_palette(tmp_path / "bad.txt")
    (tmp_path / "big.json").write_text("[[1, 2, 300]]")
    with pytest.raises(ValueError, match=r"big\.json, item 0: a colour is three integers 0\.\.255"):
        load_palette(tmp_path / "big.json")
    colours, names = load_palette(_written(tmp_path / "ok.txt", "0 0 0 road surface\n255 255 255 sky\n"))
    assert colours.tolist() == [[0, 0, 0], [255, 255, 255]] and names == ("road surface", "sky")


def _written(path, text):
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------------------------------------------
# make_fixture


@pytest.mark.parametrize("name", ["ade20k", "cityscapes", "coco", "folder"])
def test_make_fixture_writes_a_readable_official_layout(tmp_path, name):
    root = make_fixture(tmp_path / "one", name, count=2, size=32, seed=3)
    if name == "folder":
        ds = LabelFolder(root / "images", root / "labels", palette=root / "palette.txt")
        assert ds.num_classes == 11 and "sky" in ds.class_names
    else:
        ds = DATASETS[name](root)
        assert len(DATASETS[name](root, split="val")) == 2
    channels = {"ade20k": 151, "cityscapes": 36, "coco": 184, "folder": 11}[name]
    assert len(ds) == 2 and ds.label_channels == channels
    sample = ds[0]
    assert ds.segmap(sample).one_hot().shape[1] == channels
    assert len(torch.unique(sample["label"])) >= 3 and sample["image"].std() > 0.1  # a scene, not a blank
    if name in ("cityscapes", "coco"):
        assert ds.segmap(sample).edges.sum() > 0
    again = make_fixture(tmp_path / "two", name, count=2, size=32, seed=3)
    first = sorted(p for p in root.rglob("*") if p.is_file())
    second = sorted(p for p in again.rglob("*") if p.is_file())
    assert [p.relative_to(root) for p in first] == [p.relative_to(again) for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second))  # deterministic


def test_make_fixture_classes_and_sizes_look_real(tmp_path):
    keep = Preprocess("crop", crop_size=64, flip=False)
    ade = ADE20K(make_fixture(tmp_path, "ade20k", count=3, size=32), preprocess=keep)
    sizes = {Image.open(pair.image).size for pair in ade.pairs}
    assert len(sizes) == 3 and all(w % 2 or h % 2 for w, h in sizes)  # varied, odd sizes
    assert any(ade[i]["label"].eq(ade.class_names.index("sky")).any() for i in range(3))
    city = Cityscapes(make_fixture(tmp_path, "cityscapes", count=2, size=32), split="val")
    assert city[0]["label"].shape == (256, 512)
    assert any(city[i]["label"].eq(city.class_names.index("sky")).any() for i in range(2))
    coco = CocoStuff(make_fixture(tmp_path, "coco", count=2, size=32), preprocess=keep)
    assert coco[0]["label"].eq(182).any()  # the unlabelled corner is don't care
    with pytest.raises(ValueError, match="make_fixture writes one of ade20k, cityscapes, coco, folder"):
        make_fixture(tmp_path, "imagenet")
