"""An analyst's path through the Digit recognizer in a real browser: upload, train, read the confusion matrix and the
gallery, explain an image, draw a digit on the canvas with the mouse and get it read; a broken file gets a sentence."""

from __future__ import annotations

from tests.browser.conftest import assert_no_traceback, open_page, screenshot, upload, wait_idle
from tests.conftest import SAMPLES

SEVEN = [(70, 60), (200, 60), (150, 150), (110, 240)]  # a '7' in canvas pixels: the bar, then the stem


def _draw(page, points, steps: int = 15) -> None:
    canvas = page.locator("canvas.upper-canvas").first  # fabric.js draws on its upper canvas
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for k in range(1, steps + 1):
            page.mouse.move(x0 + ax + (bx - ax) * k / steps, y0 + ay + (by - ay) * k / steps)
    page.mouse.up()


def test_upload_train_inspect_explain_and_draw(page, app_url):
    page.set_viewport_size({"width": 1280, "height": 3600})  # the results are long; Streamlit scrolls an inner box
    open_page(page, app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Digit recognizer").click()
    page.get_by_role("button", name="Train", exact=True).wait_for(
        timeout=120_000
    )  # the 10k sample is read and previewed
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    upload(page, SAMPLES / "mnist_train_500.csv")
    page.get_by_text("500", exact=True).first.wait_for()  # the row count of the preview
    page.get_by_text("label 8").first.wait_for()  # the first images, drawn
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Misread test images").first.wait_for(timeout=180_000)
    wait_idle(page)
    assert page.get_by_text("Confusion matrix · CNN").count() >= 1
    accuracy = page.get_by_test_id("stMetric").filter(has_text="Accuracy").first.inner_text()
    assert "0." in accuracy
    assert page.get_by_text("true ", exact=False).count() >= 1  # gallery captions: true 7 → read 2 (…)
    assert_no_traceback(page)
    screenshot(page, "digits_performance")

    page.get_by_role("tab", name="Explanations").click()
    page.get_by_text("Why the CNN scores digit").first.wait_for(timeout=60_000)
    assert_no_traceback(page)
    screenshot(page, "digits_explanations")

    page.get_by_role("tab", name="Draw a digit").click()
    page.get_by_text("Draw a digit in the box").first.wait_for()
    _draw(page, SEVEN)
    page.get_by_text("The CNN reads", exact=True).first.wait_for(timeout=60_000)  # not the nudge's "The CNN reads, …"
    wait_idle(page)
    page.get_by_text("Why the CNN reads").first.wait_for(timeout=60_000)
    read = page.get_by_test_id("stMetric").filter(has=page.get_by_text("The CNN reads", exact=True)).first.inner_text()
    assert read.split()[-1] == "7", read
    assert_no_traceback(page)
    screenshot(page, "digits_draw")


def test_broken_file_gets_a_sentence_and_the_next_upload_works(page, app_url, tmp_path):
    open_page(page, app_url, "digits")
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    lines = (SAMPLES / "mnist_train_500.csv").read_text().splitlines()[:80]
    short = tmp_path / "cropped.csv"
    short.write_text("\n".join(",".join(line.split(",")[:701]) for line in lines) + "\n")  # label + 700 pixels
    upload(page, short)
    page.get_by_text("has 700 pixel columns").wait_for()
    assert_no_traceback(page)
    screenshot(page, "digits_bad_upload")
    upload(page, SAMPLES / "mnist_train_500.csv")
    page.get_by_text("500", exact=True).first.wait_for()
    page.get_by_role("button", name="Train", exact=True).wait_for()
    assert_no_traceback(page)
