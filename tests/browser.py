"""Driving the browser explorer (`python -m keras_vae app`) in headless Chromium through Playwright: start the app,
open its page, click the map, draw a stroke, read the pictures it shows. Used by tests/test_app.py and
benchmarks/app_latency.py."""
import base64
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from keras_vae.app import ZOOM

# Flags for a root, offline machine: no sandbox, no GPU, and none of Chromium's own connections out.
BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(model, data, port):
    """`python -m keras_vae app` in a subprocess, returned once it says it serves."""
    server = subprocess.Popen([sys.executable, "-m", "keras_vae", "app", "--model", model, "--port", str(port),
                               *(["--data", str(data)] if data else [])], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    lines = [server.stdout.readline(), server.stdout.readline()]  # what it starts, then where it serves
    if not (lines[0].startswith("Starting the explorer") and lines[1].startswith("Serving the explorer")):
        server.kill()
        raise RuntimeError(f"the app did not start: {''.join(lines)}{server.stderr.read()}")
    return server


def open_page(playwright, executable, port):
    """The app's page in headless Chromium, once it shows its first z."""
    browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(f"http://127.0.0.1:{port}")
    page.wait_for_function("() => { const z = document.querySelector('#z textarea, #z input'); "
                           "return z && z.value.length > 0; }", timeout=120000)
    return browser, page


def pixels(data_uri, zoom=ZOOM):
    """The image a page shows from its PNG data URI, one value in [0, 1] per image pixel."""
    from PIL import Image

    picture = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    return np.asarray(picture, dtype="float32")[::zoom, ::zoom] / 255.0


def shown(page, element):
    """The data URI of the picture in the page's element `element` (None before one shows)."""
    return page.locator(f"#{element} img").get_attribute("src")


def changed(page, element, before, timeout=30000):
    """Wait until the picture in `element` is a new one, loaded; its data URI."""
    page.wait_for_function("([id, before]) => { const i = document.querySelector('#' + id + ' img'); "
                           "return i && i.getAttribute('src') !== before && i.complete && i.naturalWidth > 0; }",
                           arg=[element, before], timeout=timeout)
    return shown(page, element)


def shown_z(page):
    """The z the page shows in its box."""
    return np.array([float(v) for v in page.locator("#z textarea, #z input").input_value().split(",")], "float32")


def click_map(page, fx, fy):
    """Click the map at (fx, fy) from its left and top edges; (milliseconds until the new image is loaded, its URI)."""
    box = page.locator("#latent-map .latent-map").bounding_box()
    before = shown(page, "decoded")
    started = time.perf_counter()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    image = changed(page, "decoded", before)
    return 1000 * (time.perf_counter() - started), image


def draw_stroke(page, points):
    """Draw one stroke on the sketchpad through `points`, each (fx, fy) from the canvas' left and top edges."""
    canvas = page.locator("#sketch canvas").bounding_box()
    at = lambda fx, fy: (canvas["x"] + fx * canvas["width"], canvas["y"] + fy * canvas["height"])
    page.mouse.move(*at(*points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*at(*point))
    page.mouse.up()
