"""Real datasets read exactly as the official SPADE code reads them (lesson 11).

One line per dataset; each gives ``ds[i]`` = ``{"label", "image", "path"}`` (+ ``"instance"`` where the dataset
has instance maps) with the official preprocessing of its split, and ``ds.segmap(batch)`` gives the networks'
input with the official channel count ``ds.label_channels``:

=================================================================  =========================================
``ADE20K(root, split="train")``                                     150 classes + don't care = 151 channels
``Cityscapes(root, split="train")``                                 35 labelIds + instance edges = 36
``CocoStuff(root, split="train")``                                  182 + don't care + instance edges = 184
``LabelFolder(image_dir, label_dir, num_classes=K)``                K (+ don't care) (+ instance edges)
=================================================================  =========================================

``preprocess=Preprocess(mode, load_size, crop_size, aspect_ratio, flip)`` overrides the official options
(``transforms`` lists the modes). ``ds.verify()`` reads every file once and lists those that cannot be used.
``make_fixture(root, name)`` writes a small fake dataset in the official layout, for machines without the real
data. Class names and colours: ``ds.class_names`` and ``ds.palette`` (one per id, also on the classes, e.g.
``ADE20K.class_names``), and the tables in ``classes``. ADE20K ids are numbered as the official pipeline (and
checkpoint) sees them, "unknown" first: see ``ade20k`` for why, and ``shift_labels``. Training on them:
``build.training_dataset(config)`` reads ``TrainConfig.dataset`` and ``dataroot`` (``--dataset``, ``--dataroot``).
"""
from .ade20k import ADE20K
from .cityscapes import Cityscapes
from .classes import (ADE20K_CLASSES, ADE20K_COLOURS, CITYSCAPES_CLASSES, CITYSCAPES_COLOURS, COCO_STUFF_CLASSES,
                      COCO_STUFF_COLOURS)
from .coco_stuff import CocoStuff
from .fixtures import make_fixture
from .folder import LabelFolder, load_palette
from .pairs import PairedDataset
from .transforms import MODES, Preprocess

DATASETS = {"ade20k": ADE20K, "cityscapes": Cityscapes, "coco": CocoStuff}

__all__ = ["ADE20K", "ADE20K_CLASSES", "ADE20K_COLOURS", "CITYSCAPES_CLASSES", "CITYSCAPES_COLOURS",
           "COCO_STUFF_CLASSES", "COCO_STUFF_COLOURS", "Cityscapes", "CocoStuff", "DATASETS", "LabelFolder", "MODES",
           "PairedDataset", "Preprocess", "load_palette", "make_fixture"]
