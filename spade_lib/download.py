"""Downloads, only when asked (lesson 11): the public datasets and the official SPADE checkpoints.

Nothing here runs by itself: a user calls ``fetch("ade20k")`` (or ``python -m spade_lib.download ade20k``).
Every download

- writes to ``<file>.part`` and renames it to ``<file>`` only when it is complete and checked, so a file at the
  final name is always whole;
- resumes a ``.part`` left by a cut with an HTTP ``Range`` request: a few times within the call, and in the next
  call (run the same command again);
- checks the size and the checksum published for the file (MD5, SHA-1 or SHA-256: the algorithm that was
  published). Where none is published we say so below and print the file's SHA-256 after the download, so that
  you can pin it (``RemoteFile(checksum="sha256:...")``);
- says, when the network cannot be reached, which address failed, where to place the file by hand and which
  checksum it must have.

Archives are then extracted into a folder under ``root``. Cityscapes needs an account: ``fetch("cityscapes")``
says how to get it and where to place it.

    >>> folder = fetch("ade20k", root="~/spade_data")   # ~/spade_data/ade20k/ADEChallengeData2016/...

    python -m spade_lib.download ade20k | coco | official-checkpoints | cityscapes [--root DIR] [--from-file PATH]

Folders under root: ``ade20k/ADEChallengeData2016/{images,annotations}/{training,validation}``;
``coco_stuff/images/{train2017,val2017}``, ``coco_stuff/stuffthingmaps/{train2017,val2017}`` (label PNGs),
``coco_stuff/annotations/`` (COCO's instance annotations, for the official instance maps,
datasets/coco_generate_instance_map.py); ``checkpoints/{ade20k,cityscapes,coco}_pretrained/`` (the official
archive; ``spade_lib.official.pretrained`` reads it).
"""
import argparse
import html.parser
import os
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Optional, Tuple, Union

from . import __version__
from .checkpoints import file_digest
from .modes import progress

PathLike = Union[str, os.PathLike]
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """A download or an extraction failed; the message says what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download, with what its publisher (or a well-known dataset library) published about it."""

    url: str
    filename: str
    size: Optional[int] = None  # bytes, where published
    checksum: Optional[str] = None  # "algorithm:hex digest" as published: "sha256:...", "sha1:..." or "md5:..."
    extract_to: str = "."  # the subfolder of the download's folder the archive is extracted into
    google_drive: bool = False  # the address may answer with Google Drive's "cannot scan for viruses" page first
    page: Optional[str] = None  # where a person downloads it by hand (default: url)

    def expected(self) -> str:
        """What the file must be, in words, for error messages."""
        facts = [f"{self.size} bytes"] if self.size else []
        facts += [f"{self.checksum.split(':')[0].upper()} {self.checksum.split(':')[1]}"] if self.checksum else []
        return ", ".join(facts) if facts else "no size or checksum is published for it"


@dataclass(frozen=True)
class Download:
    """A dataset or the official checkpoints: its files, the folder (under root) they go to, and their terms."""

    name: str
    folder: str
    files: Tuple[RemoteFile, ...]
    terms: str


def google_drive_url(file_id: str) -> str:
    """The direct-download address of a public Google Drive file (large files answer with a confirm page first)."""
    return f"https://drive.google.com/uc?export=download&id={file_id}"


OFFICIAL_CHECKPOINTS_ID = "12gvlTbMvUcJewQlSEaZdeb2CdOB-b8kQ"  # the official README's "Google Drive Folder" link

# Checksums and sizes, and where each was published:
# - ADE20K and COCO 2017: size and SHA-256 from TensorFlow Datasets (tensorflow/datasets,
#   tensorflow_datasets/url_checksums/ade20k.txt and coco2017.txt). gluon-cv publishes SHA-1s of the same files
#   (dmlc/gluon-cv, scripts/datasets/ade20k.py: 219e1696abb36c8ba3a3afe7fb2f4b4606a897c7; mscoco.py).
# - stuffthingmaps_trainval2017.zip: no checksum and no exact size are published (nightrome/cocostuff README.md
#   says "659 MB"); the SHA-256 is printed after the download.
# - checkpoints.tar.gz (the official README's Google Drive link): no checksum or size is published; the SHA-256
#   is printed after the download, and spade_lib.official checks every extracted generator against the official
#   network (every key and shape) before converting it.
REGISTRY = {
    "ade20k": Download(
        "ADE20K (MIT Scene Parsing, 150 classes)", "ade20k",
        (RemoteFile("http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip",
                    "ADEChallengeData2016.zip", 967382037,
                    "sha256:7ff1be44964418441f542a7cc1e1a650e7dc0fc275f5d23252bc9bbdbc977b29"),),
        "ADE20K / MIT Scene Parsing: the images come with their own terms, see http://sceneparsing.csail.mit.edu "
        "and https://groups.csail.mit.edu/vision/datasets/ADE20K/ (research and education)."),
    "coco": Download(
        "COCO-Stuff 164K (182 classes; the files listed by the official SPADE README)", "coco_stuff",
        (RemoteFile("http://images.cocodataset.org/zips/train2017.zip", "train2017.zip", 19336861798,
                    "sha256:69a8bb58ea5f8f99d24875f21416de2e9ded3178e903f1f7603e283b9e06d929", "images"),
         RemoteFile("http://images.cocodataset.org/zips/val2017.zip", "val2017.zip", 815585330,
                    "sha256:4f7e2ccb2866ec5041993c9cf2a952bbed69647b115d0f74da7ce8f4bef82f05", "images"),
         RemoteFile("http://calvin.inf.ed.ac.uk/wp-content/uploads/data/cocostuffdataset/"
                    "stuffthingmaps_trainval2017.zip", "stuffthingmaps_trainval2017.zip",
                    extract_to="stuffthingmaps"),
         RemoteFile("http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
                    "annotations_trainval2017.zip", 252907541,
                    "sha256:113a836d90195ee1f884e704da6304dfaaecff1f023f49b6ca93c4aaae470268")),
        "COCO images: Flickr terms of use; COCO annotations and COCO-Stuff annotations: CC BY 4.0 "
        "(https://cocodataset.org/#termsofuse, https://github.com/nightrome/cocostuff#licensing)."),
    "official-checkpoints": Download(
        "the official SPADE checkpoints (NVlabs/SPADE: coco, ade20k and cityscapes generators)", "checkpoints",
        (RemoteFile(google_drive_url(OFFICIAL_CHECKPOINTS_ID), "checkpoints.tar.gz", google_drive=True,
                    page=f"https://drive.google.com/file/d/{OFFICIAL_CHECKPOINTS_ID}/view"),),
        "The official SPADE weights: (c) NVIDIA Corporation, CC BY-NC-SA 4.0 (attribution, non-commercial, "
        "share alike: https://creativecommons.org/licenses/by-nc-sa/4.0/); research use only."),
}

CITYSCAPES_TERMS = ("Cityscapes: its own licence (non-commercial research and teaching, no redistribution), "
                    "https://www.cityscapes-dataset.com/license/.")


# ----------------------------------------------------------------------------------------------------------------
# Checking


def mismatch(path: Path, remote: RemoteFile) -> Optional[str]:
    """How ``path`` differs from what was published for ``remote`` (size, then checksum), or None if it fits.

    Where nothing is published, prints the file's SHA-256 so that it can be pinned."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return f"it has {size} bytes, {remote.size} expected"
    if remote.checksum is None:
        print(f"No checksum is published for {remote.filename}: its SHA-256 is {file_digest(path)} ({size} "
              f"bytes). Note it to check later copies (spade_lib.download.RemoteFile checksum).")
        return None
    algorithm, expected = remote.checksum.split(":")
    actual = file_digest(path, algorithm)
    return None if actual == expected else f"its {algorithm.upper()} is {actual}, {expected} expected"


# ----------------------------------------------------------------------------------------------------------------
# Downloading


class _Cut(Exception):
    """The connection ended before the whole file came; the .part file keeps what came."""


class _ConfirmForm(html.parser.HTMLParser):
    """The form of Google Drive's "cannot scan this file for viruses" page (id "download-form", else the page's
    first form): its action and hidden fields, which make the address of the file itself."""

    def __init__(self):
        super().__init__()
        self.forms = []  # (form id, action, {hidden field: value})

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("id"), attrs.get("action"), {}))
        elif tag == "input" and attrs.get("type") == "hidden" and attrs.get("name") and self.forms:
            self.forms[-1][2][attrs["name"]] = attrs.get("value", "")

    def target(self) -> Optional[str]:
        """The address the form submits to, or None where the page has no form."""
        forms = sorted(self.forms, key=lambda form: form[0] != "download-form")
        if not forms or not forms[0][1]:
            return None
        _, action, fields = forms[0]
        return f"{action}?{urllib.parse.urlencode(fields)}"


def _open(url: str, start: int, timeout: float):
    headers = {"User-Agent": f"spade_lib/{__version__}"}
    if start:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _open_file(remote: RemoteFile, start: int, timeout: float):
    """The response that carries the file itself, past Google Drive's confirm page where there is one."""
    response = _open(remote.url, start, timeout)
    if not remote.google_drive or not response.headers.get_content_type() == "text/html":
        return response
    form = _ConfirmForm()
    form.feed(response.read().decode("utf-8", "replace"))
    response.close()
    if form.target() is None:
        raise DownloadError(f"Google Drive answered {remote.url} with a web page instead of the file (its daily "
                            f"quota may be used up, or the link changed). {_by_hand(remote)}")
    return _open(form.target(), start, timeout)


def _connect(remote: RemoteFile, path: Path, part: Path, start: int, timeout: float):
    """The response from ``start`` on; a DownloadError that says what to do when there is none."""
    try:
        return _open_file(remote, start, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and start:  # Range past the end: the .part cannot be resumed
            part.unlink()
            raise _Cut(f"{part.name} could not be resumed; starting again")
        raise DownloadError(f"the server answered {error.code} ({error.reason}) for {remote.url}: the file may "
                            f"have moved. {_by_hand(remote)}") from None
    except (urllib.error.URLError, HTTPException, OSError) as error:  # refused, no route, DNS, timeout
        raise DownloadError(_offline_message(remote, path, part, error)) from None


def _receive(remote: RemoteFile, path: Path, part: Path, timeout: float) -> None:
    """Append the rest of the file to ``part`` (all of it if the server ignores ``Range``); _Cut if it ends early."""
    start = part.stat().st_size if part.exists() else 0
    with _connect(remote, path, part, start, timeout) as response:
        if start and response.status != 206:  # the server sends the whole file again
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else remote.size
        with open(part, "ab" if start else "wb") as f, progress(total=total, initial=start, unit="B",
                                                               unit_scale=True, desc=remote.filename) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK_BYTES)
                except (HTTPException, OSError) as error:  # connection reset, timeout, incomplete read
                    raise _Cut(f"{error!r} after {f.tell()} bytes")
                if not chunk:
                    break
                f.write(chunk)  # a full disk raises its own OSError, naming the file
                bar.update(len(chunk))
            received = f.tell()
    if total is not None and received < total:
        raise _Cut(f"the connection closed after {received} of {total} bytes")


def download_file(remote: RemoteFile, path: PathLike, retries: int = 3, timeout: float = 60.0) -> Path:
    """Download ``remote`` to ``path`` (via ``path.part``, resumed after a cut) and check it; returns ``path``.

    A file that does not match what was published is removed, and the error says so."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    for attempt in range(retries + 1):
        try:
            _receive(remote, path, part, timeout)
            break
        except _Cut as cut:
            if attempt == retries:
                raise DownloadError(f"the download of {remote.url} was cut {retries + 1} times ({cut}). What came "
                                    f"is kept in {part}: run the same command again to resume it.") from None
            print(f"{remote.filename}: {cut}; resuming")
    problem = mismatch(part, remote)
    if problem:
        part.unlink()
        raise DownloadError(f"the file downloaded from {remote.url} is not the published one: {problem}. It was "
                            f"removed. Run the command again; if this happens again, the file on the server has "
                            f"changed or is damaged. {_by_hand(remote)}")
    os.replace(part, path)
    return path


def _by_hand(remote: RemoteFile) -> str:
    return (f"You can download {remote.filename} by hand from {remote.page or remote.url} and place it in the "
            f"download folder (expected: {remote.expected()}).")


def _offline_message(remote: RemoteFile, path: Path, part: Path, error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    kept = f" The part already downloaded is kept in {part} and will be resumed." if part.exists() else ""
    return (f"could not download {remote.url} ({reason}). Are you offline? Download the file by hand from "
            f"{remote.page or remote.url} (on another machine if need be) and place it at {path}: it is then "
            f"checked ({remote.expected()}) and used without a download.{kept}")


# ----------------------------------------------------------------------------------------------------------------
# Extracting


def extract(archive: PathLike, folder: PathLike) -> Path:
    """Extract a zip or tar (.tar, .tar.gz, .tgz, ...) archive into ``folder``; refuses members that would land
    outside it. A marker file records the extraction, so ``fetch`` does not extract twice."""
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # tar before zip: a zip inside an uncompressed tar (a torch.save .pth is a zip) can look like a zip
        if not archive.name.lower().endswith(".zip") and tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                _check_tar_members(t, folder)
                t.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        elif zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                z.extractall(folder)  # zipfile drops ".." and leading "/" from member names
        else:
            raise DownloadError(f"{archive} is neither a zip nor a tar archive: it is damaged or not the expected "
                                f"file; delete it and download it again")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise DownloadError(f"{archive} could not be extracted ({error}): it is damaged; delete it and download "
                            f"it again") from None
    _marker(archive, folder).touch()
    return folder


def _check_tar_members(archive: tarfile.TarFile, folder: Path) -> None:
    root = folder.resolve()
    for member in archive.getmembers():
        target = (folder / member.name).resolve()
        outside = root not in target.parents and target != root
        if outside or member.issym() or member.islnk():
            raise DownloadError(f"{archive.name}: member {member.name!r} is a link or lies outside {folder}; "
                                f"refusing to extract it")


def _marker(archive: Path, folder: Path) -> Path:
    return folder / f".{archive.name}.extracted"


# ----------------------------------------------------------------------------------------------------------------
# The registry, end to end


def default_root() -> Path:
    """Where downloads go unless told: ``$SPADE_DATA`` if set, else ``~/spade_data``."""
    return Path(os.environ.get("SPADE_DATA", Path.home() / "spade_data")).expanduser()


def registry_entry(name: str) -> Download:
    if name not in REGISTRY:
        raise DownloadError(f"nothing called {name!r} can be downloaded; choose one of {', '.join(REGISTRY)} "
                            f"(Cityscapes: see spade_lib.download.cityscapes_instructions())")
    return REGISTRY[name]


def fetch(name: str, root: Optional[PathLike] = None, from_file: Optional[PathLike] = None,
          retries: int = 3, timeout: float = 60.0) -> Path:
    """Download (unless already there) and extract everything of ``name`` ("ade20k", "coco",
    "official-checkpoints"; "cityscapes" explains how to get it); returns the folder it was extracted into.

    A file already at ``<root>/<folder>/<filename>`` (placed by hand) is checked and used. ``from_file``: the path
    of a file downloaded by hand, for a download of one file (the official checkpoints' Google Drive archive)."""
    root = Path(root).expanduser() if root is not None else default_root()
    if name == "cityscapes":
        return cityscapes_folder(root)
    entry = registry_entry(name)
    folder = root / entry.folder
    if from_file is not None and len(entry.files) != 1:
        raise DownloadError(f"--from-file works for downloads of one file; {name} has {len(entry.files)}: place "
                            f"them in {folder} instead")
    print(f"{entry.name}\nTerms: {entry.terms}")
    for remote in entry.files:
        target = folder / remote.extract_to
        path = Path(from_file) if from_file is not None else folder / remote.filename
        if _marker(path, target).exists():
            continue
        if path.exists():
            problem = mismatch(path, remote)
            if problem:  # a file the user placed: keep it, say why it is refused
                raise DownloadError(f"{path} is not the published {remote.filename}: {problem}. Delete or replace "
                                    f"it. {_by_hand(remote)}")
        else:
            download_file(remote, path, retries, timeout)
        extract(path, target)
    return folder


# ----------------------------------------------------------------------------------------------------------------
# Cityscapes: an account is needed


def cityscapes_instructions(root: Optional[PathLike] = None) -> str:
    """How to get Cityscapes and where to place it (the layout the official data/cityscapes_dataset.py reads)."""
    folder = (Path(root).expanduser() if root is not None else default_root()) / "cityscapes"
    return (f"Cityscapes cannot be downloaded without an account. Register at "
            f"https://www.cityscapes-dataset.com/register/, then download gtFine_trainvaltest.zip (241 MB) and "
            f"leftImg8bit_trainvaltest.zip (11 GB) from https://www.cityscapes-dataset.com/downloads/ and unzip "
            f"both into {folder}, so that it holds\n"
            f"  {folder}/leftImg8bit/train/<city>/<city>_<seq>_<frame>_leftImg8bit.png (and val/)\n"
            f"  {folder}/gtFine/train/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png and "
            f"..._gtFine_instanceIds.png (and val/)\n{CITYSCAPES_TERMS}")


def cityscapes_folder(root: PathLike) -> Path:
    """``<root>/cityscapes`` when it holds leftImg8bit/ and gtFine/, else a DownloadError saying how to get them."""
    folder = Path(root).expanduser() / "cityscapes"
    if (folder / "leftImg8bit").is_dir() and (folder / "gtFine").is_dir():
        return folder
    raise DownloadError(cityscapes_instructions(root))


# ----------------------------------------------------------------------------------------------------------------
# Command line: python -m spade_lib.download NAME [--root DIR] [--from-file PATH]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=[*REGISTRY, "cityscapes"],
                        help="what to download: ade20k, coco (COCO-Stuff), official-checkpoints (the official "
                             "SPADE generators); cityscapes says how to get it (an account is needed)")
    parser.add_argument("--root", default=None, help=f"the download folder (default: $SPADE_DATA or "
                                                     f"{Path('~') / 'spade_data'})")
    parser.add_argument("--from-file", metavar="PATH", default=None,
                        help="use this file, downloaded by hand, instead of downloading (one-file downloads, "
                             "e.g. the official checkpoints' checkpoints.tar.gz from Google Drive)")


def run(args: argparse.Namespace) -> int:
    """The ``download`` command: 0 on success, 1 with the error's message on stderr."""
    try:
        folder = fetch(args.name, args.root, args.from_file)
    except DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.name}: ready in {folder}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spade_lib.download", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
