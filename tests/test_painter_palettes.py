"""The painter with the official datasets' models (lesson 11): their classes, colours and sizes, the segmap each
official generator reads (don't care, instance edges), the device, the missing checkpoint, the note where a model
has no style code, and the long palette's search (painter.js, run with node) and recent row.

Tiny random generators of the official label channels and sizes stand in for the official ones (96 M parameters
for ADE20K, seconds per image on these CPUs); the segmap is what the painter gives the model, whatever its width."""
import json
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import spade_lib.painter.widget
from spade_lib import official
from spade_lib.datasets import ADE20K, DATASETS, Cityscapes, CocoStuff
from spade_lib.generator import SPADEGenerator
from spade_lib.labels import make_segmap
from spade_lib.models import build_generator
from spade_lib.painter import ASSETS, RECENT, Painter, dataset_classes, hex_colours, official_size, with_recent
from test_painter import TINY

OFFICIAL = ["ade20k", "cityscapes", "coco"]


def tiny_official(dataset: str) -> SPADEGenerator:
    """A random generator with the official label channels, size and upsampling of ``dataset``, 4 filters wide."""
    settings = official.official_dataset(dataset)
    torch.manual_seed(0)
    return SPADEGenerator(settings.label_channels, width=settings.width, aspect_ratio=settings.aspect_ratio,
                          upsampling=settings.upsampling, ngf=4, spade_hidden=8).eval()


def recording(generator) -> list:
    """The segmaps ``generator`` is called with, from now on."""
    seen, forward = [], generator.forward
    generator.forward = lambda segmap, z=None: seen.append(segmap) or forward(segmap, z)
    return seen


@pytest.mark.parametrize("dataset", OFFICIAL)
def test_an_official_model_gets_its_datasets_classes_colours_and_size(dataset):
    painter = Painter.for_official(dataset, tiny_official(dataset))
    reader = DATASETS[dataset]
    assert painter.class_names == list(reader.class_names) and painter.palette == hex_colours(reader.palette)
    assert painter.labels.shape == official_size(dataset) == ((256, 512) if dataset == "cityscapes" else (256, 256))
    assert painter.searchable and painter.image_png and painter.status_level == "info"
    assert painter.display_size == (512 if dataset == "cityscapes" else 320)
    names = painter.class_names  # a horizon to start from: sky over grass (Cityscapes: road)
    sky, ground = painter.labels[0, 0], painter.labels[-1, -1]
    assert names[sky] in ("sky", "sky-other") and names[ground] in ("grass", "road")
    assert painter.brush_class == ground and painter.recent_classes == [ground, sky]


@pytest.mark.parametrize("dataset", OFFICIAL)
def test_the_segmap_is_the_official_pipelines(dataset):
    """The painted map reaches the model as the official dataset would give it: its channels, the don't-care id
    in its own channel, instance edges from the painted instances where the dataset has them."""
    generator = tiny_official(dataset)
    painter = Painter.for_official(dataset, generator)
    seen = recording(generator)
    thing = {"ade20k": 21, "cityscapes": 26, "coco": 2}[dataset]  # a car
    painter.stroke([(100, 150), (140, 150)], thing, radius=6, new_instance=True)
    painter.stroke([(30, 200)], len(painter.class_names) - 1, radius=4)  # the last id: flag, license plate, don't care
    segmap = seen[-1]
    settings = official.official_dataset(dataset)  # the official options: classes, don't care, instances
    assert segmap.channels == generator.label_channels == settings.label_channels  # edges included
    labels = torch.from_numpy(painter.labels.astype(np.int64))[None]
    instances = torch.from_numpy(painter.instances)[None] if settings.use_instance else None
    if dataset == "coco":  # the files store don't care as 255: the official mapping makes it id 182
        stored = torch.where(labels == settings.num_classes, torch.full_like(labels, 255), labels)
        expected = make_segmap(stored, settings.num_classes, instances, contain_dontcare=True)
    else:
        expected = make_segmap(labels, len(painter.class_names), instances)
    assert torch.equal(segmap.one_hot(), expected.one_hot())
    if settings.use_instance:  # the car's outline and the horizon are edges; the car's inside is not
        assert segmap.edges[0, 150, 94] == 1 and segmap.edges[0, 150, 120] == 0 and segmap.edges[0].sum() > 0
    else:
        assert segmap.edges is None
    assert segmap.one_hot()[0, len(painter.class_names) - 1, 200, 30] == 1


def test_ade20k_paints_ids_as_the_official_checkpoint_reads_them():
    painter = Painter.for_official("ade20k", tiny_official("ade20k"))
    assert painter.class_names[0] == "unknown" and painter.class_names[1:] == list(ADE20K.class_names[1:])
    assert painter.class_names.index("tree") == 5 and painter.class_names[150] == "flag"


def test_the_generator_goes_to_the_lessons_device(monkeypatch):
    moved = []
    generator = tiny_official("ade20k")
    to = generator.to
    monkeypatch.setattr(generator, "to", lambda where: moved.append(where) or to(where))
    monkeypatch.setattr(spade_lib.painter.widget, "device", lambda: torch.device("cpu"))
    Painter.for_official("ade20k", generator)
    assert moved == [torch.device("cpu")]


def test_without_the_official_checkpoint_the_widget_says_how_to_get_it(tmp_path):
    painter = Painter.for_official("cityscapes", root=tmp_path)
    assert painter.generator is None and painter.status_level == "error"  # not the classroom model either
    assert painter.status.startswith("FileNotFoundError") and "official-checkpoints" in painter.status
    assert painter.labels.shape == (256, 512)
    painter.stroke([(300, 200)], 26, radius=2)  # painting still works
    assert painter.labels[200, 300] == 26


def test_a_model_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="differs from the generator's output size"):
        Painter.for_official("cityscapes", SPADEGenerator(36, width=256, ngf=4, spade_hidden=8))


def test_for_dataset_takes_a_dataset_object_with_its_own_classes():
    folder = SimpleNamespace(class_names=("sky", "grass", "rock"), palette=np.array([[0, 0, 255], [0, 255, 0],
                                                                                      [90, 90, 90]], np.uint8))
    painter = Painter.for_dataset(folder, SPADEGenerator(3, width=64, ngf=4, spade_hidden=8))
    assert painter.class_names == ["sky", "grass", "rock"] and painter.palette == ["#0000ff", "#00ff00", "#5a5a5a"]
    assert not painter.searchable  # three classes: the plain palette
    assert painter.labels[0, 0] == 0 and painter.labels[-1, 0] == 1


def test_style_controls_give_way_to_a_note_without_a_style_code():
    assert "without the style encoder" in Painter.for_official("ade20k", tiny_official("ade20k")).style_note
    tiny_vae = build_generator(TINY)  # a model with a style code z keeps them
    classroom = Painter(tiny_vae, None)  # lesson 09's painter as it was: no note, no search, brush at class 0
    assert classroom.style_note == "" and not classroom.searchable and classroom.brush_class == 0


def test_the_recent_row_keeps_the_last_classes_used_first():
    assert with_recent([3, 4, 5], 4) == [4, 3, 5]
    assert with_recent(list(range(RECENT)), 99) == [99] + list(range(RECENT - 1))
    painter = Painter.for_official("coco", tiny_official("coco"))
    for k in [10, 20, 10, *range(30, 40)]:
        painter.brush_class = k  # what the browser sets
    assert painter.recent_classes == [39, 38, 37, 36, 35, 34, 33, 32] and len(painter.recent_classes) == RECENT


def test_dataset_classes_refuses_an_unknown_dataset():
    with pytest.raises(ValueError, match="ade20k, cityscapes, coco"):
        dataset_classes("pascal")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: painter.js's search not run")
def test_the_search_box_finds_classes_by_name_best_first(tmp_path):
    queries = {"ade20k": ["tree", "TRE", "car", "5", "sky", "zzz", "  "], "coco": ["sky", "wall-", "tree"],
               "cityscapes": ["light"]}
    (tmp_path / "painter.mjs").write_text((ASSETS / "painter.js").read_text())
    calls = {name: {"names": list(DATASETS[name].class_names), "queries": q} for name, q in queries.items()}
    (tmp_path / "run.mjs").write_text(
        "import { matchClasses } from './painter.mjs';\n"
        f"const calls = {json.dumps(calls)};\n"
        "const out = {};\n"
        "for (const [name, c] of Object.entries(calls)) out[name] = c.queries.map((q) => matchClasses(c.names, q));\n"
        "console.log(JSON.stringify(out));\n")
    result = subprocess.run(["node", "run.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    ade = [[ADE20K.class_names[k] for k in ids] for ids in found["ade20k"]]
    assert ade[0][0] == "tree" and ade[0] == ade[1]  # the start of a name first
    assert "streetlight" in ade[0] and ade[0].index("tree") < ade[0].index("streetlight")
    assert ade[2][0] == "car" and ade[3] == ["tree"] and ade[4][0] == "sky" and ade[5] == []
    assert len(ade[6]) == 151  # nothing typed: every class, in id order
    coco = [[CocoStuff.class_names[k] for k in ids] for ids in found["coco"]]
    assert coco[0] == ["sky-other", "skyscraper"] and all(name.startswith("wall-") for name in coco[1]) and len(coco[1]) == 7
    assert [Cityscapes.class_names[k] for k in found["cityscapes"][0]] == ["traffic light"]
