"""Drive a notebook in a real browser: JupyterLab on localhost, Debian's chromium through Playwright.

Used by tests/test_painter_browser.py and by the painter's benchmarks, never collected by pytest itself:

    with jupyter_lab(NOTEBOOKS) as lab, chromium_page() as page:
        open_and_run(page, lab, "09_paint.ipynb")
        draw_stroke(page, page.locator("canvas"), [(10, 10), (60, 60)])
        kernel_eval(lab, "09_paint.ipynb", "painter.labels.max()")

or, for lesson 09's painter (the last section of this file), `with paint_lesson() as (page, lab): ...`.

Playwright is used without its own browser downloads: it launches the system's chromium
(`apt-get install chromium`). JupyterLab runs with its own settings, workspace and runtime folders in a
temporary directory, autosave off, so the notebook on disk is never rewritten by a test.
"""
import ast
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = ("install it with `sudo apt-get install chromium` (Debian/Ubuntu); `python3 course.py test` does so "
                "when CI=true")
PLAYWRIGHT_HINT = "install it with `.venv/bin/pip install -e .[test]` (the pip package only; no `playwright install`)"
LAB_SETTINGS = {  # user settings for the test's JupyterLab: nothing saved, nothing fetched, every cell in the DOM
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
KERNEL_IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
PROMPTS = ".jp-Notebook .jp-CodeCell .jp-InputPrompt"
# Once "Run All" is clicked, every code cell shows [*] until it has run, then its number; a cell after a failing
# one goes back to an empty prompt.
RUN_STARTED_JS = """() => [...document.querySelectorAll('%s')].some(p => /[*0-9]/.test(p.textContent))""" % PROMPTS
RUN_FINISHED_JS = """() => document.querySelector('%s') !== null &&
    ![...document.querySelectorAll('%s')].some(p => p.textContent.includes('*'))""" % (KERNEL_IDLE, PROMPTS)


def find_chromium():
    """Path of the system's chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_problems():
    """What is missing to drive a browser (chromium, playwright), each with how to install it; empty when ready."""
    problems = []
    if find_chromium() is None:
        problems.append(f"chromium is not on PATH: {INSTALL_HINT}")
    if importlib.util.find_spec("playwright") is None:
        problems.append(f"the playwright package is missing: {PLAYWRIGHT_HINT}")
    return problems


def require_browser():
    """Skip the calling test, loudly, when chromium or playwright is missing; fail instead when CI=true."""
    problems = browser_problems()
    if problems:
        message = "BROWSER TEST NOT RUN: " + "; ".join(problems)
        pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)


@dataclass
class Lab:
    """A running JupyterLab: where it answers, its token, and where its kernels' connection files are."""
    url: str
    token: str
    runtime_dir: Path
    log: Path

    def api(self, path, method="GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines=30):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_lab_settings(settings_dir: Path):
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def lab_command(root_dir: Path, port: int, token: str, checkpoints: Path):
    """JupyterLab on localhost serving ``root_dir``; the checkpoint it makes of an opened notebook goes to
    ``checkpoints``, not next to the notebook."""
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={root_dir}", "--ServerApp.terminals_enabled=False",
               f"--FileCheckpoints.root_dir={checkpoints}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # e.g. a container: Jupyter refuses root otherwise
        command.append("--allow-root")
    return command


def wait_until_answering(lab: Lab, process, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{lab.log_tail()}")
        try:
            lab.api("status")
            return
        except OSError:  # not listening yet
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer within {timeout} s:\n{lab.log_tail()}")


def stop(process, lab: Lab):
    """Ask the server to shut down (it stops its kernels); then end whatever is left of its process group."""
    try:
        lab.api("shutdown", method="POST")
        process.wait(timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    if hasattr(os, "killpg"):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the server's own session: its kernels, if any outlived it
    else:
        process.kill()
    process.wait()


@contextmanager
def jupyter_lab(root_dir: Path, extra_env=None):
    """Start JupyterLab on a free localhost port serving ``root_dir``; yield a `Lab`; always shut it down."""
    with tempfile.TemporaryDirectory(prefix="spade-lab-") as tmp:
        tmp = Path(tmp)
        write_lab_settings(tmp / "settings")
        port, token = free_port(), secrets.token_hex(16)
        lab = Lab(f"http://127.0.0.1:{port}", token, tmp / "runtime", tmp / "jupyter.log")
        env = {**os.environ, **(extra_env or {}), "JUPYTER_RUNTIME_DIR": str(lab.runtime_dir),
               "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces")}
        with open(lab.log, "w") as log:
            process = subprocess.Popen(lab_command(root_dir, port, token, tmp / "checkpoints"), env=env,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        try:
            wait_until_answering(lab, process)
            yield lab
        finally:
            stop(process, lab)


@contextmanager
def chromium_page(width=1400, height=1000, scale=1):
    """A Playwright page in headless system chromium (``scale``: device pixels per CSS pixel); browser and driver
    always closed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
        finally:
            browser.close()


def kernel_id(lab: Lab, notebook: str):
    """Id of the kernel the server runs for ``notebook``, or None."""
    return next((s["kernel"]["id"] for s in lab.api("sessions") if s["path"] == notebook), None)


def wait_for_kernel(page, lab: Lab, notebook: str, timeout_s):
    """Wait until the server's kernel for ``notebook`` is idle and the page shows it so (the page's indicator
    says "idle" for a moment before any kernel exists)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        kernel = kernel_id(lab, notebook)
        if kernel and lab.api(f"kernels/{kernel}")["execution_state"] == "idle":
            page.wait_for_selector(KERNEL_IDLE, timeout=timeout_s * 1000)
            return
        time.sleep(0.25)
    raise TimeoutError(f"no idle kernel for {notebook} after {timeout_s} s:\n{lab.log_tail()}")


def open_and_run(page, lab: Lab, notebook: str, timeout_s=120):
    """Open ``notebook`` in JupyterLab, wait for its kernel, run all cells (Run menu) and wait until they have
    finished. Fails with the error output when a cell raises (JupyterLab then stops running the cells after it)."""
    page.goto(f"{lab.url}/lab/tree/{notebook}?token={lab.token}")
    wait_for_kernel(page, lab, notebook, timeout_s)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function(RUN_STARTED_JS, timeout=10_000, polling=100)
    page.wait_for_function(RUN_FINISHED_JS, timeout=timeout_s * 1000, polling=250)
    prompts = page.locator(PROMPTS).all_inner_texts()
    not_run = [i for i, text in enumerate(prompts) if not any(ch.isdigit() for ch in text)]
    outputs = page.locator(".jp-Notebook .jp-OutputArea-output").all_inner_texts()
    errors = [text for text in outputs if "Traceback (most recent call last)" in text]
    assert not (not_run or errors), f"{notebook}: a cell raised; cells {not_run} did not run:\n" + "\n".join(errors)


def draw_stroke(page, canvas, points, steps=4):
    """Press the real mouse at the first point of ``points`` (CSS pixels inside ``canvas``), drag through the
    others, release. The canvas is scrolled into view first."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    (x0, y0), rest = points[0], points[1:]
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
    page.mouse.up()


# Records, in the page, when the pointer goes up and when the next image shown by ``img`` is on screen:
# its src changes, the new image is decoded, then the next animation frame (the one that paints it) starts.
ARM_LATENCY_JS = """(img) => {
    const clock = window.__strokeClock = {up: null, shown: null, src: img.src};
    window.addEventListener('pointerup', () => { clock.up = performance.now(); }, {capture: true, once: true});
    const observer = new MutationObserver(async () => {
        if (img.src === clock.src) return;
        observer.disconnect();
        await img.decode().catch(() => {});
        requestAnimationFrame(() => { clock.shown = performance.now(); });
    });
    observer.observe(img, {attributes: true, attributeFilter: ['src']});
}"""


def stroke_latency_ms(page, canvas, img, points, timeout_s=30):
    """Draw a stroke on ``canvas`` and return the milliseconds, measured in the browser, from pointer-up to the
    new image in ``img`` being on screen."""
    img.evaluate(ARM_LATENCY_JS)
    draw_stroke(page, canvas, points)
    page.wait_for_function("() => window.__strokeClock.shown !== null", timeout=timeout_s * 1000, polling="raf")
    clock = page.evaluate("() => window.__strokeClock")
    return clock["shown"] - clock["up"]


def kernel_eval(lab: Lab, notebook: str, expression: str, timeout_s=60):
    """Evaluate a Python expression in the kernel of the open ``notebook`` and return its value (a literal).

    Talks to the kernel directly, as a second client on its connection file: nothing appears in the notebook,
    and the request waits in the kernel's queue behind whatever the widget is still computing."""
    from jupyter_client import BlockingKernelClient

    kernel = kernel_id(lab, notebook)
    assert kernel, f"{notebook} has no kernel"
    client = BlockingKernelClient(connection_file=str(lab.runtime_dir / f"kernel-{kernel}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        reply = client.execute_interactive("", silent=True, user_expressions={"value": expression},
                                           timeout=timeout_s, output_hook=lambda message: None)
    finally:
        client.stop_channels()
    value = reply["content"]["user_expressions"]["value"]
    assert value["status"] == "ok", f"{expression!r} raised {value.get('ename')}: {value.get('evalue')}"
    return ast.literal_eval(value["data"]["text/plain"])


def canvas_pixel_centres(canvas, pixels):
    """CSS offsets, inside the canvas's box, of the centres of canvas pixels (x, y): the canvas may have a border
    and show each of its pixels as a square of several CSS pixels."""
    left, top, scale = canvas.evaluate("c => [c.clientLeft, c.clientTop, c.clientWidth / c.width]")
    return [(left + (x + 0.5) * scale, top + (y + 0.5) * scale) for x, y in pixels]


# ---------------------------------------------------------------------------------------- lesson 09's painter
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PAINT_LESSON = "09_paint.ipynb"
PAINTER = "painter"  # the lesson's variable that holds its displayed widget
WIDGET, CANVAS, IMAGE, STATUS = (f'[data-testid="painter{part}"]' for part in ("", "-canvas", "-image", "-status"))


@contextmanager
def paint_lesson(mode="quick", timeout_s=300, **page_options):
    """Lesson 09 open in chromium (`chromium_page`'s ``page_options``), every cell run in ``mode`` ("quick" or
    "default"); yields (page, lab)."""
    with jupyter_lab(NOTEBOOKS, {"SPADE_QUICK": "1" if mode == "quick" else "0"}) as lab, \
            chromium_page(**page_options) as page:
        open_and_run(page, lab, PAINT_LESSON, timeout_s)
        yield page, lab


def painter_eval(lab: Lab, expression: str):
    """The value of ``painter.<expression>`` in the lesson's kernel, e.g. ``painter_eval(lab, "labels.shape")``."""
    return kernel_eval(lab, PAINT_LESSON, f"{PAINTER}.{expression}")


def labels_at(lab: Lab, pixels):
    """The kernel's label-map values at ``pixels`` (x, y)."""
    xs, ys = [x for x, _ in pixels], [y for _, y in pixels]
    return painter_eval(lab, f"labels[{ys}, {xs}].tolist()")


def choose_brush(page, class_id: int, radius=None):
    """Click the palette button of ``class_id`` (and set the radius slider), as a student would."""
    from playwright.sync_api import expect

    button = page.locator(f'[data-testid="painter-class"][data-class-id="{class_id}"]')
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    if radius is not None:
        page.locator('[data-testid="painter-radius"]').fill(str(radius))


def paint(page, pixels, class_id: int, radius=None):
    """Paint a stroke through label-map ``pixels`` (x, y) with the real mouse; return the milliseconds from
    pointer-up to the new generated image on screen, measured in the browser."""
    choose_brush(page, class_id, radius)
    canvas, image = page.locator(CANVAS), page.locator(IMAGE)
    assert image.get_attribute("src"), f"the painter shows no image; its status: {page.locator(STATUS).inner_text()!r}"
    return stroke_latency_ms(page, canvas, image, canvas_pixel_centres(canvas, pixels))


# ------------------------------------------------------------------- the painter with the official datasets' models
OFFICIAL_NOTEBOOK = "official_painters.ipynb"
OFFICIAL_PAINTERS = ("ade", "city")  # the notebook's variables: ADE20K's painter, then Cityscapes' (512x256)
OFFICIAL_CELLS = [
    "from spade_lib import official\n"
    "from spade_lib.generator import SPADEGenerator\n"
    "from spade_lib.painter import Painter\n\n"
    "def random_official(dataset, ngf):\n"
    "    '''Random weights in the official channels, size and upsampling; ngf=64 is the official width.'''\n"
    "    s = official.official_dataset(dataset)\n"
    "    return SPADEGenerator(s.label_channels, width=s.width, aspect_ratio=s.aspect_ratio,\n"
    "                          upsampling=s.upsampling, ngf=ngf, spade_hidden=ngf * 2).eval()",
    "ade = Painter.for_official('ade20k', random_official('ade20k', NGF))\nade",
    "city = Painter.for_official('cityscapes', random_official('cityscapes', NGF))\ncity",
]


@contextmanager
def official_painters(ngf=4, timeout_s=300, **page_options):
    """A notebook with the ADE20K and the Cityscapes painter (random generators ``ngf`` filters wide, the official
    sizes and channels), run in JupyterLab and open in chromium; yields (page, lab)."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="spade-painters-") as folder:
        cells = [nbformat.v4.new_code_cell(f"NGF = {ngf}")] + [nbformat.v4.new_code_cell(c) for c in OFFICIAL_CELLS]
        kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), Path(folder) / OFFICIAL_NOTEBOOK)
        with jupyter_lab(Path(folder)) as lab, chromium_page(**page_options) as page:
            open_and_run(page, lab, OFFICIAL_NOTEBOOK, timeout_s)
            yield page, lab


def official_painter(page, name: str):
    """The widget of the notebook's painter ``name`` ("ade" or "city") as a Playwright locator."""
    return page.locator(WIDGET).nth(OFFICIAL_PAINTERS.index(name))


def search_and_pick(widget, typed: str, keys=("Enter",)):
    """Type ``typed`` into the palette's search box key by key, then press ``keys`` (Enter: the best match)."""
    search = widget.locator('[data-testid="painter-search"]')
    search.fill("")
    search.press_sequentially(typed)
    for key in keys:
        widget.page.keyboard.press(key)
