"""The README's picture of the painter: lesson 09 in JupyterLab (default mode, the classroom model); in headless
chromium, undo back to the lesson's layout, paint a mountain and a lake with the mouse, pick a style, and save the
widget alone, cropped to what it draws.

    python benchmarks/screenshot_painter.py          # writes data/figures/painter.png
    python benchmarks/screenshot_painter.py ade20k   # writes data/figures/painter_ade20k.png

The second is the painter of an official ADE20K model (lesson 11): the official generator's architecture with random
weights (the official checkpoint cannot be downloaded here), its 151 classes found with the search box.

Needs Debian's chromium and the playwright package, like tests/test_painter_browser.py (whose helpers it uses).
"""
import sys
from pathlib import Path

from spade_lib.landscapes import MOUNTAIN, SNOW, WATER

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import (CANVAS, IMAGE, OFFICIAL_NOTEBOOK, WIDGET, browser_problems, canvas_pixel_centres,  # noqa: E402
                     kernel_eval, official_painter, official_painters, paint, paint_lesson, search_and_pick,
                     stroke_latency_ms)

FIGURES = Path(__file__).resolve().parent.parent / "data" / "figures"
FIGURE, FIGURE_ADE20K = FIGURES / "painter.png", FIGURES / "painter_ade20k.png"
ADE20K_STROKES = [  # (what is typed in the search box, radius, stroke in label-map pixels)
    ("mountain", 12, [(20, 112), (70, 70), (120, 100), (170, 60), (236, 110)]),
    ("tree", 9, [(30, 150), (60, 135), (90, 152)]),
    ("water", 10, [(110, 200), (160, 205), (230, 200)]),
    ("house", 6, [(180, 145), (200, 145)]),
]
RANDOM_WEIGHTS = ("the official ADE20K generator's architecture with random weights: the official checkpoint "
                  "(spade_lib.official.pretrained) paints the photo")
LESSON_EDITS = 2  # the lesson's water stroke and cloud fill on top of layout 3, undone first
PEAK, FOOT = (40, 12), 36  # the mountain's summit (x, y) and the row of its foot, in label-map pixels
STYLE = "day"


def click_and_wait_for_image(page, testid):
    """Click a widget button whose answer is a new image (undo, redo, ...) and wait until that image is shown."""
    image = page.locator(IMAGE)
    old = image.get_attribute("src")
    page.locator(f'[data-testid="{testid}"]').click()
    page.wait_for_function("([img, old]) => img.src !== old && img.complete", arg=[image.element_handle(), old])


def paint_mountain(page):
    """Rows that narrow towards the summit, as a student fills a triangle with a round brush; snow on top."""
    for y in range(FOOT, PEAK[1] - 1, -3):
        half_width = (y - PEAK[1]) + 2
        paint(page, [(PEAK[0] - half_width, y), (PEAK[0] + half_width, y)], MOUNTAIN, radius=2)
    paint(page, [(PEAK[0] - 3, PEAK[1] + 3), (PEAK[0], PEAK[1]), (PEAK[0] + 3, PEAK[1] + 3)], SNOW, radius=1)


def paint_lake(page):
    paint(page, [(24, 46), (36, 48), (50, 47)], WATER, radius=4)


def choose_style(page, name):
    """Pick a style preset in the widget's menu and wait for the image in that style."""
    image = page.locator(IMAGE)
    old = image.get_attribute("src")
    page.locator('[data-testid="painter-preset"]').select_option(name)
    page.wait_for_function("([img, old]) => img.src !== old && img.complete", arg=[image.element_handle(), old])


def save_widget(page, path):
    """Screenshot of the widget alone. In the notebook its box spans the whole output area, mostly empty on the
    right: for the picture it is narrowed to its content and given a white margin."""
    widget = page.locator(WIDGET)
    widget.evaluate("root => Object.assign(root.style, {width: 'max-content', padding: '10px', background: '#fff'})")
    widget.screenshot(path=str(path), animations="disabled")


def paint_ade20k(page, widget):
    """Find each class by typing its name, as a student would, and paint its stroke."""
    for typed, radius, pixels in ADE20K_STROKES:
        search_and_pick(widget, typed)
        widget.locator('[data-testid="painter-radius"]').fill(str(radius))
        canvas = widget.locator(CANVAS)
        stroke_latency_ms(page, canvas, widget.locator(IMAGE), canvas_pixel_centres(canvas, pixels), timeout_s=120)
    search_and_pick(widget, "ro", keys=[])  # the search box at work in the picture: "rock", "road", "rod"...


def screenshot_ade20k():
    with official_painters(ngf=64, timeout_s=600) as (page, lab):
        widget = official_painter(page, "ade")
        paint_ade20k(page, widget)
        kernel_eval(lab, OFFICIAL_NOTEBOOK, f"ade.show({RANDOM_WEIGHTS!r})")
        widget.evaluate("root => Object.assign(root.style, {width: 'max-content', padding: '10px', background: '#fff'})")
        widget.screenshot(path=str(FIGURE_ADE20K), animations="disabled")
    print(f"wrote {FIGURE_ADE20K}")


def main():
    problems = browser_problems()
    if problems:
        sys.exit("; ".join(problems))
    if sys.argv[1:] == ["ade20k"]:
        return screenshot_ade20k()
    with paint_lesson(mode="default", scale=2) as (page, lab):
        for _ in range(LESSON_EDITS):
            click_and_wait_for_image(page, "painter-undo")
        paint_mountain(page)
        paint_lake(page)
        choose_style(page, STYLE)
        save_widget(page, FIGURE)
    print(f"wrote {FIGURE}")


if __name__ == "__main__":
    main()
