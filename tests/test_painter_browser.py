"""The painter in a real browser: JupyterLab runs lesson 09 (quick mode), headless chromium paints one stroke with
the mouse on the widget's canvas, and both ends of the round trip must follow: the kernel's label map under the
stroke takes the brush's class, and the generated image is replaced. The time from pointer-up to the new image on
screen, measured in the browser, is printed (`pytest -s` shows it).

Needs Debian's chromium and the playwright package (no browser download): skipped with the install command
where either is missing, failed when CI=true. The helpers are in tests/browser.py.
"""
import pytest

from browser import IMAGE, labels_at, paint, paint_lesson, painter_eval, require_browser


@pytest.fixture(scope="module")
def lesson():
    """(page, lab): lesson 09 open in chromium, every cell run; JupyterLab and the browser always stop after."""
    require_browser()
    with paint_lesson(mode="quick") as page_and_lab:
        yield page_and_lab


def middle_row(height, width):
    """A stroke across the middle of the map, from 20% to 80% of its width: one point per label-map pixel."""
    return [(x, height // 2) for x in range(width // 5, width * 4 // 5 + 1)]


def test_a_mouse_stroke_changes_the_kernels_label_map_and_the_image(lesson):
    page, lab = lesson
    pixels = middle_row(*painter_eval(lab, "labels.shape"))
    before = labels_at(lab, pixels)
    brush = next(k for k in range(painter_eval(lab, "num_classes")) if k not in before)  # nowhere under the stroke
    old_image = page.locator(IMAGE).get_attribute("src")

    latency_ms = paint(page, pixels, brush)

    after = labels_at(lab, pixels)
    assert after == [brush] * len(pixels), f"label map under the stroke: {before} -> {after}, brush class {brush}"
    assert page.locator(IMAGE).get_attribute("src") != old_image
    print(f"\n[painter in chromium] pointer-up -> new image on screen: {latency_ms:.0f} ms "
          f"(classes {sorted(set(before))} painted over with class {brush})")
