"""spade_lib.download against a local HTTP server on 127.0.0.1 (never the internet): a whole download, resume
after a cut, a server that ignores Range, checksums (SHA-256, SHA-1, MD5) refused with no file left, the offline
message, Google Drive's confirm page, archive extraction, the registry end to end, Cityscapes' instructions."""
import hashlib
import http.server
import io
import os
import socket
import tarfile
import threading
import urllib.parse
import zipfile

import pytest

from spade_lib import download
from spade_lib.download import DownloadError, RemoteFile


class FileServer:
    """An HTTP server in a thread serving ``files`` ({url path: bytes}) with ``Range: bytes=N-`` support.

    ``cuts``: byte counts; the n-th request sends only ``cuts[n]`` bytes of its body (Content-Length says the
    whole) and drops the connection. ``ignore_range``: answer every request with the whole file (200).
    ``confirm_pages``: {url path: target path}: a Google Drive-like HTML page whose form leads to the target;
    ``pages``: {url path: bytes} served as text/html.
    ``requests``: (path, Range header) of every request."""

    def __init__(self, files, cuts=(), ignore_range=False, confirm_pages=None, pages=None):
        self.files, self.cuts, self.ignore_range = dict(files), list(cuts), ignore_range
        self.confirm_pages, self.pages, self.requests = dict(confirm_pages or {}), dict(pages or {}), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def handle(self, h):
        path = urllib.parse.urlsplit(h.path).path
        self.requests.append((h.path, h.headers.get("Range")))
        if path in self.confirm_pages:
            page = (f'<html><form id="search" action="/search"><input type="hidden" name="q" value="x"></form>'
                    f'<form id="download-form" action="{self.url(self.confirm_pages[path])}" method="get">'
                    f'<input type="hidden" name="id" value="abc"><input type="hidden" name="confirm" value="t">'
                    f'<input type="submit" value="Download anyway"></form></html>').encode()
            return self.send(h, 200, page, {"Content-Type": "text/html; charset=utf-8"})
        if path in self.pages:
            return self.send(h, 200, self.pages[path], {"Content-Type": "text/html"})
        if path not in self.files:
            return self.send(h, 404, b"not found", {})
        data, start, status, headers = self.files[path], 0, 200, {"Content-Type": "application/octet-stream"}
        range_header = h.headers.get("Range")
        if range_header and not self.ignore_range:
            start = int(range_header.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                return self.send(h, 416, b"", {"Content-Range": f"bytes */{len(data)}"})
            status, headers["Content-Range"] = 206, f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        cut = self.cuts.pop(0) if self.cuts else None
        self.send(h, status, body, headers, cut)

    @staticmethod
    def send(h, status, body, headers, cut=None):
        h.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body if cut is None else body[:cut])
        h.wfile.flush()
        h.close_connection = True

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


DATA = os.urandom(3 * (1 << 20) + 12345)  # three chunks and a bit


def remote_for(server, data=DATA, algorithm="sha256", **kwargs):
    return RemoteFile(server.url("/files/data.bin"), "data.bin", len(data),
                      f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}", **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_whole_download_is_checked_and_leaves_no_part_file(tmp_path):
    with FileServer({"/files/data.bin": DATA}) as server:
        path = download.download_file(remote_for(server), tmp_path / "data.bin")
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    assert server.requests == [("/files/data.bin", None)]


def test_a_cut_is_resumed_with_a_range_request(tmp_path):
    cut = (1 << 20) + 777
    with FileServer({"/files/data.bin": DATA}, cuts=[cut]) as server:
        path = download.download_file(remote_for(server), tmp_path / "data.bin")
    assert path.read_bytes() == DATA
    assert [r for _, r in server.requests] == [None, f"bytes={cut}-"]


def test_a_cut_download_is_resumed_by_the_next_call(tmp_path):
    cut = 2 * (1 << 20) + 5
    with FileServer({"/files/data.bin": DATA}, cuts=[cut]) as server:
        with pytest.raises(DownloadError, match="run the same command again to resume") as error:
            download.download_file(remote_for(server), tmp_path / "data.bin", retries=0)
        part = tmp_path / "data.bin.part"
        assert str(part) in str(error.value) and part.read_bytes() == DATA[:cut]
        assert not (tmp_path / "data.bin").exists()  # nothing partial at the final name
        download.download_file(remote_for(server), tmp_path / "data.bin", retries=0)
    assert (tmp_path / "data.bin").read_bytes() == DATA and not part.exists()
    assert server.requests[-1][1] == f"bytes={cut}-"


def test_a_server_that_ignores_range_gives_the_whole_file_again(tmp_path):
    (tmp_path / "data.bin.part").write_bytes(b"stale bytes from another attempt")
    with FileServer({"/files/data.bin": DATA}, ignore_range=True) as server:
        path = download.download_file(remote_for(server), tmp_path / "data.bin")
    assert path.read_bytes() == DATA and server.requests[0][1] == "bytes=32-"


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_each_published_algorithm_is_checked(tmp_path, algorithm):
    with FileServer({"/files/data.bin": DATA}) as server:
        assert download.download_file(remote_for(server, algorithm=algorithm), tmp_path / "a").read_bytes() == DATA
        wrong = remote_for(server, data=b"other", algorithm=algorithm)
        wrong = RemoteFile(wrong.url, wrong.filename, None, wrong.checksum)
        actual = hashlib.new(algorithm, DATA).hexdigest()
        with pytest.raises(DownloadError, match=f"its {algorithm.upper()} is {actual}"):
            download.download_file(wrong, tmp_path / "b")


def test_wrong_checksum_or_size_is_refused_and_no_file_is_left(tmp_path):
    with FileServer({"/files/data.bin": DATA}) as server:
        good = remote_for(server)
        bad_sum = RemoteFile(good.url, good.filename, good.size, "sha256:" + "0" * 64)
        with pytest.raises(DownloadError, match="not the published one.*It was removed.*Run the command again"):
            download.download_file(bad_sum, tmp_path / "data.bin")
        bad_size = RemoteFile(good.url, good.filename, good.size + 1, good.checksum)
        with pytest.raises(DownloadError, match=f"it has {len(DATA)} bytes, {len(DATA) + 1} expected"):
            download.download_file(bad_size, tmp_path / "data.bin")
    assert list(tmp_path.iterdir()) == []


def test_without_a_published_checksum_the_sha256_is_printed(tmp_path, capsys):
    with FileServer({"/files/data.bin": DATA}) as server:
        download.download_file(RemoteFile(server.url("/files/data.bin"), "data.bin"), tmp_path / "data.bin")
    assert f"No checksum is published for data.bin: its SHA-256 is {hashlib.sha256(DATA).hexdigest()}" in \
        capsys.readouterr().out


def test_offline_message_names_the_address_the_place_and_the_checksum(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/files/data.bin"  # nothing listens there: connection refused
    remote = RemoteFile(url, "data.bin", 10, "sha256:" + "ab" * 32)
    with pytest.raises(DownloadError) as error:
        download.download_file(remote, tmp_path / "data.bin", timeout=5)
    message = str(error.value)
    for fact in (url, "Are you offline?", str(tmp_path / "data.bin"), "SHA256 " + "ab" * 32, "10 bytes"):
        assert fact in message
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_does_not_answer_gets_the_offline_message(tmp_path):
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/data.bin"
        with pytest.raises(DownloadError, match=f"could not download {url} .*timed out.*by hand"):
            download.download_file(RemoteFile(url, "data.bin"), tmp_path / "data.bin", timeout=0.5)


def test_a_part_file_that_cannot_be_resumed_is_downloaded_again(tmp_path):
    (tmp_path / "data.bin.part").write_bytes(b"x" * (len(DATA) + 10))  # longer than the file: 416
    with FileServer({"/files/data.bin": DATA}) as server:
        path = download.download_file(remote_for(server), tmp_path / "data.bin")
    assert path.read_bytes() == DATA
    assert [r for _, r in server.requests] == [f"bytes={len(DATA) + 10}-", None]


def test_http_error_says_the_file_may_have_moved(tmp_path):
    with FileServer({}) as server:
        with pytest.raises(DownloadError, match="answered 404.*may have moved.*by hand"):
            download.download_file(remote_for(server), tmp_path / "data.bin")


def test_google_drive_confirm_page_is_followed(tmp_path):
    with FileServer({"/download": DATA}, confirm_pages={"/uc": "/download"}) as server:
        remote = RemoteFile(server.url("/uc?export=download&id=abc"), "data.bin", len(DATA),
                            "sha256:" + hashlib.sha256(DATA).hexdigest(), google_drive=True)
        assert download.download_file(remote, tmp_path / "data.bin").read_bytes() == DATA
    assert [urllib.parse.urlsplit(p).path for p, _ in server.requests] == ["/uc", "/download"]
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(server.requests[1][0]).query)) == {
        "id": "abc", "confirm": "t"}


def test_google_drive_page_without_a_form_says_how_to_download_by_hand(tmp_path):
    remote_page = "https://drive.google.com/file/d/abc/view"
    with FileServer({}, pages={"/uc": b"<html>Quota exceeded</html>"}) as server:
        remote = RemoteFile(server.url("/uc"), "data.bin", google_drive=True, page=remote_page)
        with pytest.raises(DownloadError, match=f"web page instead of the file.*{remote_page}"):
            download.download_file(remote, tmp_path / "data.bin")


def make_zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def make_tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_extract_archives(tmp_path, kind):
    members = {"top/a.txt": b"alpha", "top/sub/b.png": b"\x89PNG beta"}
    archive = tmp_path / f"archive.{kind}"
    archive.write_bytes(make_zip(members) if kind == "zip" else make_tar_gz(members))
    folder = download.extract(archive, tmp_path / "out")
    assert (folder / "top/a.txt").read_bytes() == b"alpha"
    assert (folder / "top/sub/b.png").read_bytes() == b"\x89PNG beta"


def test_a_tar_holding_a_zip_is_extracted_as_a_tar(tmp_path):
    """An uncompressed tar (or a .tar.gz stored without compression) holding a zip, e.g. a torch.save .pth, ends
    with the zip's directory: it must not be taken for a zip."""
    inner = make_zip({"archive/data.pkl": b"x" * 100})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=0) as t:
        info = tarfile.TarInfo("ade20k_pretrained/latest_net_G.pth")
        info.size = len(inner)
        t.addfile(info, io.BytesIO(inner))
    archive = tmp_path / "checkpoints.tar.gz"
    archive.write_bytes(buffer.getvalue())
    assert zipfile.is_zipfile(archive)  # what fooled the first version
    download.extract(archive, tmp_path / "out")
    assert (tmp_path / "out/ade20k_pretrained/latest_net_G.pth").read_bytes() == inner


def test_extract_refuses_members_outside_the_folder_and_damaged_archives(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(make_tar_gz({"../outside.txt": b"x"}))
    with pytest.raises(DownloadError, match="outside"):
        download.extract(archive, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(make_zip({"a.txt": b"a" * 1000})[:-30])
    with pytest.raises(DownloadError, match="damaged.*download it again"):
        download.extract(damaged, tmp_path / "out")


@pytest.fixture
def registered(monkeypatch):
    """A registry entry "fixture" of two archives served by a local server."""
    images, labels = make_zip({"train2017/1.jpg": b"image"}), make_tar_gz({"train2017/1.png": b"label"})
    with FileServer({"/images.zip": images, "/labels.tar.gz": labels}) as server:
        files = (RemoteFile(server.url("/images.zip"), "images.zip", len(images),
                            "md5:" + hashlib.md5(images).hexdigest(), "images"),
                 RemoteFile(server.url("/labels.tar.gz"), "labels.tar.gz", extract_to="labels"))
        monkeypatch.setitem(download.REGISTRY, "fixture", download.Download("a test dataset", "fixture", files,
                                                                            "test terms"))
        yield server


def test_fetch_downloads_extracts_and_does_it_once(tmp_path, registered, capsys):
    folder = download.fetch("fixture", tmp_path)
    assert folder == tmp_path / "fixture"
    assert (folder / "images/train2017/1.jpg").read_bytes() == b"image"
    assert (folder / "labels/train2017/1.png").read_bytes() == b"label"
    assert "Terms: test terms" in capsys.readouterr().out
    download.fetch("fixture", tmp_path)
    assert len(registered.requests) == 2  # the second call neither downloads nor extracts


def test_fetch_uses_a_file_placed_by_hand_and_keeps_a_wrong_one(tmp_path, registered):
    folder = tmp_path / "fixture"
    folder.mkdir()
    (folder / "images.zip").write_bytes(b"not the file")
    with pytest.raises(DownloadError, match="is not the published images.zip.*Delete or replace it"):
        download.fetch("fixture", tmp_path)
    assert (folder / "images.zip").read_bytes() == b"not the file"  # the user's file is not deleted
    (folder / "images.zip").write_bytes(registered.files["/images.zip"])
    download.fetch("fixture", tmp_path)
    assert [p for p, _ in registered.requests] == ["/labels.tar.gz"]


def test_from_file_needs_a_one_file_download(tmp_path, registered):
    with pytest.raises(DownloadError, match="--from-file works for downloads of one file"):
        download.fetch("fixture", tmp_path, from_file=tmp_path / "x.zip")


def test_the_registry_is_complete():
    for entry in download.REGISTRY.values():
        for remote in entry.files:
            assert remote.url.startswith("http") and remote.url.endswith(remote.filename) or remote.google_drive
            if remote.checksum:
                algorithm, digest = remote.checksum.split(":")
                assert len(digest) == hashlib.new(algorithm).digest_size * 2
    with pytest.raises(DownloadError, match="nothing called 'imagenet'.*ade20k, coco, official-checkpoints"):
        download.registry_entry("imagenet")


def test_cityscapes_says_how_to_get_it_and_where_to_place_it(tmp_path):
    with pytest.raises(DownloadError) as error:
        download.fetch("cityscapes", tmp_path)
    for fact in ("account", "https://www.cityscapes-dataset.com", str(tmp_path / "cityscapes" / "leftImg8bit"),
                 "gtFine_labelIds.png", "instanceIds.png"):
        assert fact in str(error.value)
    (tmp_path / "cityscapes/leftImg8bit").mkdir(parents=True)
    (tmp_path / "cityscapes/gtFine").mkdir()
    assert download.fetch("cityscapes", tmp_path) == tmp_path / "cityscapes"


def test_command_line(tmp_path, registered, capsys):
    assert download.main(["fixture", "--root", str(tmp_path)]) == 0
    assert f"fixture: ready in {tmp_path / 'fixture'}" in capsys.readouterr().out
    assert download.main(["cityscapes", "--root", str(tmp_path)]) == 1
    assert "error: Cityscapes cannot be downloaded without an account" in capsys.readouterr().err
