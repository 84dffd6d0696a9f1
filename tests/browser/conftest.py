"""Browser fixtures shared by the keeper-flow tests: a phone whose camera films printed labels,
and a finger that counts its taps.

A tap is one touch of the screen: tapping a button or link, or tapping into a field before
typing (typing itself is not a tap; the phone's keyboard is). Each flow test states the taps it
needs and fails when the flow grows longer (issue 15)."""

import io
from pathlib import Path

import pytest
import segno
from PIL import Image

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, missing
from tests.factories import PASSWORD

PHONE = {"width": 360, "height": 740}


def write_y4m(path, payloads, *, width=480, height=360, fps=5, seconds_each=1.5):
    """A camera clip showing each QR code in turn (then the camera loops it). A payload may be
    ``(payload, seconds)``; a payload of None is a blank frame: the label has left the view."""
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for shown in payloads:
            payload, seconds = shown if isinstance(shown, tuple) else (shown, seconds_each)
            frame = Image.new("L", (width, height), 255)
            if payload is not None:
                buffer = io.BytesIO()
                segno.make_qr(payload, error="m", boost_error=False).save(buffer, kind="png", scale=6,
                                                                           border=4)
                code = Image.open(buffer).convert("L")
                frame.paste(code, ((width - code.width) // 2, (height - code.height) // 2))
            luma = frame.tobytes()
            for _ in range(int(fps * seconds)):
                f.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.fixture
def camera_page(browser_type, tmp_path):
    """Open a 360-px touch page in a Chromium whose camera films the given payloads, each for
    ``seconds_each`` (then loops): ``camera_page([url, None, url], seconds_each=2)``."""
    if not Path(CHROMIUM).exists():
        missing("Chromium is not installed (apt-get install chromium)")
    browsers = []

    def open_with(payloads, *, seconds_each=1.5, accept_downloads=False):
        clip = tmp_path / f"camera-{len(browsers)}.y4m"
        write_y4m(clip, payloads, seconds_each=seconds_each)
        browser = browser_type.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}"])
        browsers.append(browser)
        context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True,
                                      is_mobile=True, permissions=["camera"],
                                      accept_downloads=accept_downloads)
        return context.new_page()

    yield open_with
    for browser in browsers:
        browser.close()


@pytest.fixture
def phone(browser):
    """A 360-px touch screen in the test's browser, speaking Chinese."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    yield context.new_page()
    context.close()


class Finger:
    """Taps on a page and counts them."""

    def __init__(self, page):
        self.page = page
        self.taps = 0

    def tap(self, selector: str) -> None:
        self.page.locator(selector).first.tap()
        self.taps += 1

    def type(self, selector: str, text: str) -> None:
        """Tap into a field and type (a fresh value: what was there is replaced)."""
        self.tap(selector)
        self.page.locator(selector).first.fill(text)

    def choose(self, selector: str, value: str) -> None:
        """Pick from a drop-down: a tap to open it, a tap on the choice."""
        self.page.locator(selector).first.select_option(value)
        self.taps += 2

    def log_in(self, base: str, username: str, path: str = "/") -> None:
        self.page.goto(f"{base}{path}")
        self.type("#username", username)
        self.type("#password", PASSWORD)
        self.tap("button[type=submit]")


@pytest.fixture
def finger():
    """``finger(page)``: a tap counter for that page."""
    return Finger
