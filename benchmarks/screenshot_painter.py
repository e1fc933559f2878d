"""The README's picture of the painter: lesson 09 in JupyterLab (default mode, the classroom model); in headless
chromium, undo back to the lesson's layout, paint a mountain and a lake with the mouse, pick a style, and save the
widget alone, cropped to what it draws.

    python benchmarks/screenshot_painter.py     # writes data/figures/painter.png

Needs Debian's chromium and the playwright package, like tests/test_painter_browser.py (whose helpers it uses).
"""
import sys
from pathlib import Path

from spade_lib.landscapes import MOUNTAIN, SNOW, WATER

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import IMAGE, WIDGET, browser_problems, paint, paint_lesson  # noqa: E402

FIGURE = Path(__file__).resolve().parent.parent / "data" / "figures" / "painter.png"
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


def main():
    problems = browser_problems()
    if problems:
        sys.exit("; ".join(problems))
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
