"""The painter's kernel side without a browser: the brush, fill, history, files, the model call and the style codes.

A tiny random model stands in for the classroom model, so nothing here needs data/classroom/. The browser side
(painter.js) is checked against the same brush with node, where node exists."""
import dataclasses
import io
import itertools
import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

import spade_lib.models
from spade_lib.landscapes import GRASS, NUM_CLASSES, PALETTE, SKY, TREE, WATER, Landscapes
from spade_lib.generator import SPADEGenerator
from spade_lib.labels import instance_edges, label_png_bytes, make_segmap, read_label_png, resize_labels
from spade_lib.painter import (ASSETS, FIRST_NEW_INSTANCE, STUFF_INSTANCE, LabelCanvas, Painter, disc_offsets,
                               flood_region, line_points, make_palette, stroke_mask)
from spade_lib.models import TrainConfig, build_encoder, build_generator
from spade_lib.viz import png_bytes

TINY = TrainConfig(size=64, ngf=4, ndf=4, spade_hidden=8, use_vae=True, z_dim=8, perceptual=False)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_generator(TINY).eval(), build_encoder(TINY).eval()


@pytest.fixture
def painter(model):
    return Painter(*model)


def png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# The brush ------------------------------------------------------------------------------------------------------

def test_brush_stamps_a_disc_of_exact_pixels():
    canvas = LabelCanvas(9, 9, NUM_CLASSES)
    assert canvas.stroke([(4, 4)], TREE, radius=2) == 21
    expected = np.array([[0, 1, 1, 1, 0],
                         [1, 1, 1, 1, 1],
                         [1, 1, 1, 1, 1],
                         [1, 1, 1, 1, 1],
                         [0, 1, 1, 1, 0]]) * TREE
    assert np.array_equal(canvas.labels[2:7, 2:7], expected)
    assert canvas.labels.sum() == 21 * TREE  # nothing outside the disc
    assert [len(disc_offsets(r)) for r in range(4)] == [1, 9, 21, 37]  # dx^2 + dy^2 <= r^2 + r


def test_line_points_round_half_up():
    assert line_points((0, 0), (2, 1)).tolist() == [[0, 0], [1, 1], [2, 1]]  # y = 0.5 rounds up
    assert line_points((0, 0), (-2, -1)).tolist() == [[0, 0], [-1, 0], [-2, -1]]  # -0.5 rounds up to 0
    assert line_points((3, 3), (3, 3)).tolist() == [[3, 3]]


def test_a_fast_stroke_leaves_no_gaps():
    mask = stroke_mask([(0, 0), (63, 40)], radius=0, height=64, width=64)
    assert mask.sum() == 64 and (mask.sum(0) == 1).all()  # one pixel in every column, 64 stamps for 2 points
    thick = stroke_mask([(2, 60), (60, 3), (5, 5)], radius=1, height=64, width=64)
    start = np.argwhere(thick)[0][::-1]
    assert np.array_equal(flood_region(thick.astype(np.uint8), start), thick), "the stroke is one connected piece"


def test_points_outside_the_canvas_are_clipped():
    canvas = LabelCanvas(16, 16, NUM_CLASSES)
    assert canvas.stroke([(-1e9, -5), (-3, 8)], TREE, radius=2) == 0, "a stroke off the canvas paints nothing"
    assert not canvas.undo_stack, "and makes no undo step"
    canvas.stroke([(-50, 8), (8, 8), (8, 1e12)], TREE, radius=0)
    assert (canvas.labels[8, :9] == TREE).all() and (canvas.labels[8:, 8] == TREE).all()
    assert canvas.labels.sum() == TREE * (9 + 7)
    with pytest.raises(ValueError, match="finite"):
        canvas.stroke([(float("nan"), 3)], TREE, radius=1)


def test_fill_takes_the_4_connected_region_of_the_clicked_class():
    canvas = LabelCanvas(4, 4, NUM_CLASSES, labels=np.array([[0, 0, 1, 0],
                                                             [0, 1, 0, 0],
                                                             [1, 0, 0, 1],
                                                             [0, 0, 1, 1]]))
    assert canvas.fill((0, 0), WATER) == 3  # (0, 0), (1, 0), (0, 1); (2, 1) only touches it diagonally
    assert canvas.labels.tolist() == [[WATER, WATER, 1, 0], [WATER, 1, 0, 0], [1, 0, 0, 1], [0, 0, 1, 1]]
    assert canvas.fill((2, 1), GRASS) == 7  # the other zeros, down to the bottom-left corner
    assert canvas.fill((40, 1), GRASS) == 0  # outside: nothing


def test_undo_redo_and_a_new_stroke_clears_redo():
    canvas = LabelCanvas(8, 8, NUM_CLASSES)
    blank = canvas.labels.copy()
    canvas.stroke([(1, 1)], TREE, radius=1)
    first = canvas.labels.copy()
    canvas.fill((7, 7), WATER)
    assert canvas.undo() and np.array_equal(canvas.labels, first)
    assert canvas.undo() and np.array_equal(canvas.labels, blank)
    assert not canvas.undo()
    assert canvas.redo() and np.array_equal(canvas.labels, first)
    canvas.stroke([(5, 5)], GRASS, radius=0)
    assert not canvas.redo_stack and not canvas.redo(), "a new stroke forgets what undo undid"
    assert canvas.undo() and np.array_equal(canvas.labels, first)


def test_new_instance_brush_makes_objects_and_the_plain_brush_joins_them():
    canvas = LabelCanvas(16, 16, NUM_CLASSES)
    canvas.stroke([(3, 8)], TREE, radius=2)
    canvas.stroke([(6, 8)], TREE, radius=2)
    assert set(np.unique(canvas.instances[canvas.labels == TREE])) == {TREE * STUFF_INSTANCE}
    canvas.stroke([(10, 8)], TREE, radius=2, new_instance=True)
    canvas.stroke([(13, 8)], TREE, radius=2, new_instance=True)
    ids = set(np.unique(canvas.instances[canvas.labels == TREE]))
    assert ids == {TREE * STUFF_INSTANCE, FIRST_NEW_INSTANCE, FIRST_NEW_INSTANCE + 1}
    edges = instance_edges(torch.from_numpy(canvas.instances)[None])[0]
    assert edges[8, 10] == 1 and edges[8, 11] == 1, "an edge between the two new trees (the second covers x 11-15)"
    assert edges[8, 4] == 0 and edges[8, 5] == 0, "none inside the plain-brush region"


def test_bad_class_ids_and_radii_are_refused():
    canvas = LabelCanvas(8, 8, NUM_CLASSES)
    with pytest.raises(ValueError, match="unknown class id 11"):
        canvas.stroke([(1, 1)], NUM_CLASSES, radius=1)
    with pytest.raises(ValueError, match="radius"):
        canvas.stroke([(1, 1)], TREE, radius=-1)
    with pytest.raises(ValueError, match="at least one"):
        canvas.stroke([], TREE, radius=1)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: painter.js not compared")
def test_painter_js_paints_the_same_pixels(tmp_path):
    edits = [{"type": "stroke", "points": [[-40, 3], [20, 17], [33, 2], [70, 90]], "class_id": TREE, "radius": 3},
             {"type": "stroke", "points": [[5, 5]], "class_id": WATER, "radius": 0},
             {"type": "stroke", "points": [[1, 30], [30, 31], [2, 33]], "class_id": GRASS, "radius": 1},
             {"type": "fill", "point": [50, 50], "class_id": SKY},
             {"type": "fill", "point": [1, 31], "class_id": WATER}]
    (tmp_path / "painter.mjs").write_text((ASSETS / "painter.js").read_text())
    script = (f"import {{ applyEdit }} from './painter.mjs';\n"
              f"const map = {{ labels: new Uint8Array(40 * 48).fill({GRASS}), height: 40, width: 48 }};\n"
              f"for (const edit of {json.dumps(edits)}) applyEdit(map, edit);\n"
              f"console.log(JSON.stringify(Array.from(map.labels)));\n")
    (tmp_path / "run.mjs").write_text(script)
    result = subprocess.run(["node", "run.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    canvas = LabelCanvas(40, 48, NUM_CLASSES, labels=np.full((40, 48), GRASS))
    for edit in edits:
        if edit["type"] == "stroke":
            canvas.stroke(edit["points"], edit["class_id"], edit["radius"])
        else:
            canvas.fill(edit["point"], edit["class_id"])
    assert np.array_equal(np.array(json.loads(result.stdout)).reshape(40, 48), canvas.labels)


# Files ----------------------------------------------------------------------------------------------------------

def test_label_pngs_map_to_class_ids():
    ids = np.random.default_rng(0).integers(0, NUM_CLASSES, (12, 10)).astype(np.uint8)
    assert np.array_equal(read_label_png(label_png_bytes(ids, PALETTE), NUM_CLASSES), ids)  # indexed
    assert np.array_equal(read_label_png(png(ids), NUM_CLASSES), ids)  # greyscale ids
    assert np.array_equal(read_label_png(png(PALETTE[ids]), NUM_CLASSES, PALETTE), ids)  # RGB in palette colours
    rgba = np.concatenate([PALETTE[ids], np.full((12, 10, 1), 255, np.uint8)], 2)
    assert np.array_equal(read_label_png(png(rgba), NUM_CLASSES, PALETTE), ids)


def test_a_label_png_of_another_size_is_resized_with_nearest(painter):
    ids = np.zeros((100, 80), np.uint8)
    ids[50:, 20:] = WATER
    painter.receive({"type": "load_labels", "id": 3, "name": "lake.png"}, [label_png_bytes(ids, PALETTE)])
    expected = resize_labels(torch.from_numpy(ids)[None], (64, 64))[0].numpy()
    assert np.array_equal(painter.labels, expected)
    assert "resized from 100x80 to 64x64" in painter.status and painter.status_level == "info"
    assert painter.applied_request == 3


@pytest.mark.parametrize("data, message", [
    (png(np.full((8, 8, 3), (1, 2, 3), np.uint8)), "#010203 (64 pixels)"),
    (png(np.full((8, 8), 42, np.uint8)), "class ids 42 outside"),
    (b"not a picture", "bad.png is not an image file"),
    (png(np.zeros((8, 8, 2), np.uint8)), "is a LA image, not a label map"),
], ids=["unknown-colour", "unknown-id", "not-an-image", "two-channels"])
def test_bad_label_files_get_a_message_in_the_widget(painter, data, message):
    before = painter.labels.copy()
    painter.receive({"type": "load_labels", "id": 1, "name": "bad.png"}, [data])
    assert message in painter.status and painter.status_level == "error"
    assert np.array_equal(painter.labels, before)


def test_save_and_reload_round_trip(painter, tmp_path):
    painter.stroke([(5, 5), (40, 50)], TREE, radius=3, new_instance=True)
    label_path, image_path = painter.save(tmp_path)
    assert (label_path.name, image_path.name) == ("painting_001_label.png", "painting_001_image.png")
    assert image_path.read_bytes() == painter.image_png
    assert np.asarray(Image.open(image_path)).shape == (64, 64, 3)
    with Image.open(label_path) as saved:
        assert saved.mode == "P" and np.array_equal(np.asarray(saved.getpalette()[:3 * NUM_CLASSES]),
                                                    PALETTE.flatten())
    painted = painter.labels.copy()
    painter.clear(SKY)
    painter.load_labels(label_path)
    assert np.array_equal(painter.labels, painted)
    assert painter.save(tmp_path)[0].name == "painting_002_label.png", "never overwrites"


def test_save_message_writes_files_and_sends_them_for_download(painter, tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr(painter, "send", lambda content, buffers=None: sent.append((content, buffers)))
    painter.save_folder = str(tmp_path)
    painter.receive({"type": "save", "id": 9})
    names = ["painting_001_label.png", "painting_001_image.png"]
    assert sent[0][0] == {"type": "download", "names": names}
    assert sent[0][1] == [(tmp_path / name).read_bytes() for name in names]
    assert "saved" in painter.status


# The model ------------------------------------------------------------------------------------------------------

def test_every_stroke_sends_the_label_map_and_a_new_image(painter):
    image, serial = painter.image_png, painter.image_serial
    painter.receive({"type": "stroke", "id": 5, "points": [[0, 40], [63, 40]], "class_id": WATER, "radius": 4})
    assert painter.image_png != image and painter.image_png.startswith(b"\x89PNG")
    assert painter.labels_bytes == painter.labels.tobytes() and (painter.labels[40] == WATER).all()
    assert painter.image_serial == serial + 1 and painter.applied_request == 5
    assert painter.last_latency_ms > 0 and painter.status == ""


def test_the_image_is_the_generator_s_for_this_map_and_z(painter, model):
    generator = model[0]
    expected = generator(make_segmap(torch.from_numpy(painter.labels.astype(np.int64))[None],
                                                    NUM_CLASSES, torch.from_numpy(painter.instances)[None]),
                         painter.z)[0]
    assert painter.image_png == png_bytes(expected.detach())


def test_a_model_error_is_shown_and_painting_goes_on(painter, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory (a test)")
    monkeypatch.setattr(painter.generator, "forward", broken)
    painter.receive({"type": "stroke", "id": 2, "points": [[10, 10]], "class_id": TREE, "radius": 2})
    assert painter.status == "the model failed: RuntimeError: out of memory (a test)"
    assert painter.status_level == "error" and painter.labels[10, 10] == TREE and painter.applied_request == 2


def test_bad_messages_get_a_status_not_an_exception(painter):
    painter.receive({"type": "stroke", "id": 4, "points": [[1, 1]], "class_id": 99, "radius": 1})
    assert "unknown class id 99" in painter.status and painter.applied_request == 4
    painter.receive({"type": "teleport", "id": 5})
    assert "unknown message type 'teleport'" in painter.status


def test_undo_redo_clear_and_random_layout_messages(painter):
    first = painter.labels.copy()
    painter.receive({"type": "clear", "id": 1, "class_id": SKY})
    assert (painter.labels == SKY).all() and painter.can_undo and not painter.can_redo
    painter.receive({"type": "undo", "id": 2})
    assert np.array_equal(painter.labels, first) and painter.can_redo
    painter.receive({"type": "redo", "id": 3})
    assert (painter.labels == SKY).all()
    painter.random_layout(index=7)
    assert np.array_equal(painter.labels, Landscapes(size=64, length=10).layout(7)["label"].numpy())
    assert "Landscapes sample 7" in painter.status


def test_instance_edges_reach_the_model_only_when_it_reads_them(monkeypatch):
    seen = []
    for edges in (True, False):
        torch.manual_seed(0)
        generator = build_generator(dataclasses.replace(TINY, instance_edges=edges))
        forward = generator.forward
        monkeypatch.setattr(generator, "forward", lambda segmap, z=None: seen.append(segmap) or forward(segmap, z))
        Painter(generator, None).stroke([(9, 9)], TREE, radius=2, new_instance=True)
    with_edges, without_edges = seen[1], seen[3]  # the strokes' calls; 0 and 2 drew the first image
    assert with_edges.edges is not None and with_edges.edges.sum() > 0
    assert without_edges.edges is None


# Style ----------------------------------------------------------------------------------------------------------

def test_style_controls_change_z_and_the_image(painter):
    red = png(np.full((30, 20, 3), (200, 30, 30), np.uint8))
    messages = [({"type": "reroll_style"}, []), ({"type": "style_preset", "name": "sunset"}, []),
                ({"type": "style_dataset", "index": 5}, []), ({"type": "style_image", "name": "red.png"}, [red])]
    codes, images = [painter.z.clone()], {painter.image_png}
    for request, (message, buffers) in enumerate(messages, 1):
        painter.receive({**message, "id": request}, buffers)
        assert painter.status_level == "info", painter.status
        codes.append(painter.z.clone())
        images.add(painter.image_png)
    assert all(not torch.equal(a, b) for a, b in itertools.combinations(codes, 2)), "every control changes z"
    assert len(images) == len(codes), "and the image"
    assert painter.style_name == "image red.png" and painter.z.shape == (1, TINY.z_dim)
    painter.reroll_style(seed=0)
    assert torch.equal(painter.z, codes[0]), "a seed gives its z again"


def test_a_preset_is_the_mean_code_of_images_in_that_style(painter, model):
    encoder = model[1]
    painter.use_style_preset("night")
    images = torch.stack([Landscapes(size=64).render(i, "night")["image"] for i in range(4)])
    with torch.no_grad():
        expected = encoder(images)[0].mean(0, keepdim=True)
    torch.testing.assert_close(painter.z, expected)
    assert painter.style_name == "preset night"


def test_a_model_without_encoder_offers_random_styles_only(model):
    painter = Painter(model[0], None)
    assert painter.uses_z and not painter.has_encoder and painter.style_presets == []
    painter.receive({"type": "style_preset", "id": 1, "name": "day"})
    assert "no style encoder" in painter.status and painter.status_level == "error"


# Models ---------------------------------------------------------------------------------------------------------

def test_without_the_classroom_model_the_widget_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(spade_lib.models, "CLASSROOM_DIR", tmp_path / "classroom")
    painter = Painter()
    assert painter.status.startswith("ModelNotFoundError:") and "classroom" in painter.status
    assert painter.status_level == "error" and painter.image_png == b""
    painter.stroke([(3, 3)], TREE, radius=1)  # painting still works
    assert painter.labels[3, 3] == TREE and painter.status.startswith("ModelNotFoundError")


def test_a_model_with_its_own_class_list():
    torch.manual_seed(0)
    names = [f"class {k}" for k in range(151)]  # e.g. ADE20K with its "don't care" class
    generator = SPADEGenerator(151, width=64, ngf=4, spade_hidden=8)
    painter = Painter(generator, None, class_names=names)
    assert len(painter.palette) == 151 and len(set(painter.palette)) == 151
    assert not painter.landscapes and not painter.instance_edges and painter.image_png
    painter.stroke([(20, 20)], 150, radius=3)
    assert painter.labels[20, 20] == 150
    painter.receive({"type": "random_layout", "id": 1})
    assert "need a model of the Landscapes classes" in painter.status
    with pytest.raises(ValueError, match="pass its own class list"):
        Painter(generator, None)
    assert make_palette(3).shape == (3, 3)


def test_a_bad_style_image_gets_a_message(painter):
    z = painter.z.clone()
    painter.receive({"type": "style_image", "id": 1, "name": "notes.txt"}, [b"just text"])
    assert painter.status == "ValueError: that is not an image file" and painter.status_level == "error"
    assert torch.equal(painter.z, z)
