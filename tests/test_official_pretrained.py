"""spade_lib.official.pretrained on fake official archives: random official-format ADE20K weights saved with
torch.save in checkpoints.tar.gz in the official layout, served by a local HTTP server behind a Google Drive-like
confirm page; downloaded, extracted, converted once to safetensors, and loaded with the random network's outputs
(a slim network of the same architecture, fast to run), then the full-size official generator."""
import contextlib
import dataclasses
import hashlib
import io
import json
import tarfile

import pytest
import torch

from spade_lib import download, official
from spade_lib.generator import SPADEGenerator
from test_download import FileServer


def tar_gz(members):
    """A .tar.gz of {name: bytes}, stored without compression (compresslevel 0: random weights do not compress
    and deflating 386 MB takes a minute); tarfile and gzip read it as any .tar.gz."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=0) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def official_archive(net, dataset="ade20k"):
    """checkpoints.tar.gz in the official layout, holding ``net``'s weights as the official code saves them
    (util/util.py save_network: torch.save of the state dict), and the SHA-256 of the .pth."""
    pth = io.BytesIO()
    torch.save(official.official_state_dict(net), pth)
    archive = tar_gz({f"{dataset}_pretrained/latest_net_G.pth": pth.getvalue(),
                      f"{dataset}_pretrained/opt.txt": b"label_nc: 150\n"})
    return archive, hashlib.sha256(pth.getvalue()).hexdigest()


@contextlib.contextmanager
def serve(archive, monkeypatch):
    """The archive behind a Google Drive-like confirm page, registered as "official-checkpoints"."""
    with FileServer({"/download": archive}, confirm_pages={"/uc": "/download"}) as server:
        entry = download.REGISTRY["official-checkpoints"]
        remote = dataclasses.replace(entry.files[0], url=server.url("/uc?export=download&id=x"))
        monkeypatch.setitem(download.REGISTRY, "official-checkpoints", dataclasses.replace(entry, files=(remote,)))
        yield server


def slim_generator(dataset, use_vae=False):
    """The official generator's architecture for ``dataset`` at 32x32 and a few channels (fast to run)."""
    return SPADEGenerator(official.official_dataset(dataset).label_channels, width=32, ngf=4, spade_hidden=8,
                          use_vae=use_vae)


def test_download_convert_and_load_give_the_same_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(official, "generator", slim_generator)
    net = slim_generator("ade20k")
    net.train()
    net(torch.randint(0, 151, (2, 32, 32)))  # move spectral norm's u, v and batch norm's statistics from their init
    net.eval()
    archive, pth_sha256 = official_archive(net)
    with serve(archive, monkeypatch) as server:
        folder = official.download_official_checkpoints(tmp_path)
    assert (folder / "ade20k_pretrained/latest_net_G.pth").is_file()
    capsys.readouterr()

    netG = official.pretrained("ade20k", root=tmp_path)
    out = capsys.readouterr().out
    assert "CC BY-NC-SA 4.0" in out and "ADE20K" in out and "Cityscapes" in out  # the licence, on first use
    labels = torch.randint(0, 151, (2, 32, 32))  # ADE20K: 150 classes + don't care
    with torch.no_grad():
        expected = net(labels)
        assert not netG.training and torch.equal(netG(labels), expected)

    weights = folder / "ade20k_pretrained/latest_net_G.safetensors"
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["dataset"] == "ade20k" and card["use_vae"] is False and card["converted_from_sha256"] == pth_sha256

    # The second call reads the safetensors file only: no .pth, no torch.load, no licence again
    (folder / "ade20k_pretrained/latest_net_G.pth").unlink()
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("the .pth was read again"))
    again = official.pretrained("ade20k", root=tmp_path)
    assert "CC BY-NC-SA" not in capsys.readouterr().out
    with torch.no_grad():
        assert not again.training and torch.equal(again(labels), expected)
    assert len(server.requests) == 2  # the confirm page and the archive, once


def test_archive_downloaded_by_hand(tmp_path, monkeypatch):
    monkeypatch.setattr(official, "generator", slim_generator)
    net = slim_generator("coco").eval()
    archive, _ = official_archive(net, "coco")
    by_hand = tmp_path / "checkpoints (1).tar.gz"
    by_hand.write_bytes(archive)
    official.download_official_checkpoints(tmp_path / "root", from_file=by_hand)
    netG = official.pretrained("coco", root=tmp_path / "root")
    assert all(torch.equal(a, b) for a, b in zip(netG.state_dict().values(), net.state_dict().values()))
    assert by_hand.read_bytes() == archive  # the user's file is left as it was


def test_the_official_size_generator_goes_through(tmp_path, monkeypatch):
    """The real official ADE20K generator (96.49 M parameters, a 386 MB .pth), random weights, through the
    download, the conversion and loading (about 20 s and 3 GB of memory)."""
    net = official.generator("ade20k").eval()
    archive, _ = official_archive(net)
    with serve(archive, monkeypatch):
        official.download_official_checkpoints(tmp_path)
    netG = official.pretrained("ade20k", root=tmp_path)
    assert official.official_state_dict(netG).keys() == official.official_state_dict(net).keys()
    assert all(torch.equal(a, b) for a, b in zip(netG.state_dict().values(), net.state_dict().values()))
    card = json.loads(official.converted_path("ade20k", tmp_path).with_suffix(".json").read_text())
    assert card["parameters"] == 96_492_483


def test_pretrained_before_the_download_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="ade20k_pretrained/latest_net_G.pth.*python -m spade_lib.download "
                                                "official-checkpoints"):
        official.pretrained("ade20k", root=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'facades'"):
        official.pretrained("facades", root=tmp_path)


def test_licence_is_printed_once_per_root(tmp_path, capsys):
    official.show_licence_once(tmp_path)
    official.show_licence_once(tmp_path)
    assert capsys.readouterr().out.count("CC BY-NC-SA 4.0") == 1
    assert (tmp_path / "checkpoints" / official.LICENCE_MARKER).is_file()


class NotATensor:
    pass


def test_a_pth_with_more_than_tensors_is_refused(tmp_path):
    path = tmp_path / "latest_net_G.pth"
    torch.save({"fc.weight": torch.zeros(1), "extra": NotATensor()}, path)
    with pytest.raises(ValueError, match="more than tensors, which weights_only=True refuses"):
        official.read_official_pth(path)
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ValueError, match="not a state dict"):
        official.read_official_pth(path)
