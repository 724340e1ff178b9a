"""The browser explorer (`python -m keras_vae app`, an optional extra: pip install 'keras_vae[app]'): a Gradio page
with the latent map (click or drag to decode), a sketchpad (a drawn digit -> its z on the map -> its reconstruction),
a typed z and prior samples. ExplorerApp holds what each event does, as plain functions of the page's values."""
import base64
import io
import os
import signal
import socket
import threading
import time

import numpy as np

from .latent import digit_from_sketch, latent_space, parse_z
from .plots import label_colour, tile_images

APP_EXTRA = "the app needs Gradio: pip install 'keras_vae[app]' (or pip install gradio)"
ZOOM = 8  # page pixels per image pixel: the images are sent enlarged, so that the browser does not blur them
SAMPLES = 16  # prior samples per click, in a 4 x 4 grid

MAP_TEMPLATE = """<div class="latent-map" style="position:relative;width:100%;max-width:480px;aspect-ratio:1;
touch-action:none;cursor:crosshair;user-select:none">
<img src="${map_src}" alt="the latent map" draggable="false" style="width:100%;height:100%;display:block">
<div class="cross" style="position:absolute;left:${(value || '0.5,0.5').split(',')[0] * 100}%;
top:${(value || '0.5,0.5').split(',')[1] * 100}%;width:22px;height:22px;transform:translate(-50%,-50%);
pointer-events:none;background:linear-gradient(#000,#000) center/3px 100% no-repeat,
linear-gradient(#000,#000) center/100% 3px no-repeat"></div></div>"""

# A press on the map, and the pointer moving while pressed, sets the map's value to the point "fx,fy" (fractions
# from the left and top edges) and sends it: the page draws the cross at once and the server decodes the point.
MAP_SCRIPT = """
const point = (event) => {
  const box = element.querySelector('.latent-map').getBoundingClientRect();
  const fx = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
  const fy = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1);
  props.value = fx.toFixed(4) + ',' + fy.toFixed(4);
  trigger('input');
};
element.addEventListener('pointerdown', (event) => { element.pressed = true; point(event); });
element.addEventListener('pointermove', (event) => { if (element.pressed) point(event); });
window.addEventListener('pointerup', () => { element.pressed = false; });
"""

SKETCH_TEMPLATE = """<div class="sketchpad"><canvas width="280" height="280" style="width:280px;height:280px;background:#000;
touch-action:none;cursor:crosshair"></canvas><br><button class="clear" type="button">Clear</button></div>"""

# White strokes on black, as MNIST's digits are; each finished stroke sends the drawing as a PNG data URI.
SKETCH_SCRIPT = """
const canvas = element.querySelector('canvas');
const pen = canvas.getContext('2d');
const wipe = () => { pen.fillStyle = '#000'; pen.fillRect(0, 0, canvas.width, canvas.height); };
const at = (event) => {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
};
const line = (from, to) => {
  pen.strokeStyle = '#fff'; pen.lineWidth = 22; pen.lineCap = 'round';
  pen.beginPath(); pen.moveTo(...from); pen.lineTo(...to); pen.stroke();
};
let last = null;
wipe();
canvas.addEventListener('pointerdown', (event) => { last = at(event); line(last, last); canvas.setPointerCapture(event.pointerId); });
canvas.addEventListener('pointermove', (event) => { if (last) { const next = at(event); line(last, next); last = next; } });
canvas.addEventListener('pointerup', () => {
  if (last) { last = null; props.value = canvas.toDataURL('image/png'); trigger('input'); }
});
element.querySelector('.clear').addEventListener('click', () => { wipe(); props.value = ''; });
"""

PICTURE_TEMPLATE = """<figure style="margin:0"><figcaption style="font-size:small">${caption}</figcaption>
<img src="${value}" style="max-width:100%;image-rendering:pixelated" alt="${caption}"></figure>"""


def _gradio():
    """Gradio, its usage reports off, or one error saying how to install it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError:
        raise ImportError(APP_EXTRA) from None
    return gradio


def enlarged(image, zoom=ZOOM):
    """An image in [0, 1] as 8-bit pixels, each a zoom x zoom block: (h*zoom, w*zoom) gray or (.., 3) color."""
    pixels = np.round(np.clip(np.asarray(image), 0.0, 1.0) * 255).astype("uint8")
    pixels = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
    return np.repeat(np.repeat(pixels, zoom, axis=0), zoom, axis=1)


def picture(image, zoom=ZOOM):
    """An image in [0, 1] as the PNG data URI that the page shows, enlarged."""
    return _data_uri(enlarged(image, zoom))


def _data_uri(pixels):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def format_z(z):
    return ", ".join(f"{value:.4f}" for value in z)


def sketch_ink(drawing):
    """The ink of the sketchpad's drawing, a PNG data URI of white strokes on black, as an (h, w) array in [0, 1];
    None where nothing is drawn."""
    from PIL import Image

    if not drawing or not str(drawing).startswith("data:image/png;base64,"):
        return None
    picture = Image.open(io.BytesIO(base64.b64decode(str(drawing).split(",", 1)[1]))).convert("L")
    return np.asarray(picture, dtype="float32") / 255.0


class ExplorerApp:
    """What the page's events do, over a LatentSpace: each returns the page's new values and a status line, and a
    bad input returns its message there instead of stopping the server."""

    def __init__(self, space, title="keras_vae explorer"):
        self.space, self.title = space, title

    def start(self):
        """The page's first values: z at the codes' mean."""
        return self._show(self.space.z({}), "Click or drag on the map, draw a digit, or type a z.")

    def _show(self, z, status, move_cross=True):
        """(map value, decoded image, z text, state, status) for z; without `move_cross`, the map as it is (where a
        click has put the cross already)."""
        fx, fy = self.space.fraction_of(z)
        point = f"{fx:.4f},{fy:.4f}" if move_cross else _gradio().skip()
        return point, picture(self.space.image(z)), format_z(z), z, status

    @staticmethod
    def _refused(message, outputs=5):
        """Every output as it was, and the status line saying what was wrong."""
        skip = _gradio().skip
        return (*[skip() for _ in range(outputs - 1)], f"**{message[0].upper()}{message[1:]}.**")

    def clicked(self, point, z):
        """A point "fx,fy" of the map: z with the map's two dims set there, decoded."""
        started = time.perf_counter()
        try:
            fx, fy = (float(part) for part in str(point).split(","))
        except ValueError:
            return self._refused(f"a point of the map is two fractions 'fx,fy'; got {point!r}")
        on_map = self.space.at_fraction(min(max(fx, 0.0), 1.0), min(max(fy, 0.0), 1.0))
        z = np.asarray(self.space.z({}) if z is None else z, "float32").copy()
        z[list(self.space.map_dims)] = on_map[list(self.space.map_dims)]
        shown = self._show(z, "", move_cross=False)
        return (*shown[:4], f"Decoded on the server in {1000 * (time.perf_counter() - started):.0f} ms.")

    def typed(self, text, z):
        """A z typed in the box, decoded."""
        try:
            return self._show(parse_z(text, self.space.size), "Decoded the z you typed.")
        except ValueError as error:
            return self._refused(str(error))

    def sketched(self, drawing, z):
        """A drawing: the image the model takes from it, its z_mean on the map, and decoded from there."""
        ink = sketch_ink(drawing)
        try:
            x = digit_from_sketch(np.zeros((1, 1)) if ink is None else ink, self.space.image_shape)
        except ValueError as error:
            return self._refused(str(error), outputs=6)
        code = self.space.code(x)
        return (picture(x), *self._show(code, "Encoded your drawing: the cross is its z_mean, the image is "
                                              "decoded from there."))

    def sampled(self, seed):
        """SAMPLES draws of z ~ p(z), decoded, in a grid; the next click draws with the next seed."""
        started = time.perf_counter()
        side = int(np.sqrt(SAMPLES))
        images = self.space.samples(side * side, int(seed))
        grid = picture(tile_images(images, side, side), ZOOM // 2)
        return grid, int(seed) + 1, f"{side * side} prior samples (seed {seed}) in {time.perf_counter() - started:.1f} s."

    def labelled(self, name, z):
        """A conditional model's class chosen: the image at z decoded as that class."""
        try:
            self.space.choose(name)
        except ValueError as error:
            return self._refused(str(error))
        return self._show(self.space.z({}) if z is None else np.asarray(z, "float32"), f"Decoding as class {name}.",
                          move_cross=False)

    def warm_up(self):
        """Run each event once, so that the first click does not wait for tracing and compiling."""
        self.start()
        self.space.code(np.zeros(self.space.image_shape, "float32"))
        self.sampled(0)

    def blocks(self):
        """The Gradio page."""
        gr = _gradio()
        space = self.space
        x_dim, y_dim = space.map_dims
        (x_lo, x_hi), (y_lo, y_hi) = space.limits[x_dim], space.limits[y_dim]
        others = (f" The other {space.size - 2} dims stay where z has them (at first, the codes' mean)."
                  if space.size > 2 else "")
        legend = "" if space.labels is None else " Colours: " + ", ".join(
            f"<span style='color:{c}'>&#9679;</span> {name}" for name, c in _label_colours(space))
        with gr.Blocks(title=self.title) as page:
            gr.Markdown(f"## {self.title}\nThe map shows z_mean of {len(space.z_mean)} test images over z[{x_dim}] "
                        f"({x_lo:.1f} to {x_hi:.1f}, left to right) and z[{y_dim}] ({y_lo:.1f} to {y_hi:.1f}, top "
                        f"to bottom); the image is {space.shows}.{others}{legend}")
            state, seed = gr.State(None), gr.State(0)
            with gr.Row():
                latent_map = gr.HTML("0.5,0.5", html_template=MAP_TEMPLATE, js_on_load=MAP_SCRIPT, elem_id="latent-map",
                                     map_src=_data_uri(space.map_pixels()))
                decoded = gr.HTML("", html_template=PICTURE_TEMPLATE, js_on_load=None, caption=space.shows,
                                  elem_id="decoded")
            z_text = gr.Textbox(label=f"z ({space.size} numbers; Enter decodes)", elem_id="z")
            label = (gr.Dropdown(list(space.class_names), value=space.class_names[0], elem_id="label",
                                 label="class y: the decoder draws this class (a conditional model)")
                     if space.classes else None)
            status = gr.Markdown(elem_id="status")
            with gr.Row():
                with gr.Column():
                    gr.Markdown("Draw a digit (each stroke encodes it):")
                    sketch = gr.HTML("", html_template=SKETCH_TEMPLATE, js_on_load=SKETCH_SCRIPT, elem_id="sketch")
                    encode = gr.Button("Encode the drawing", elem_id="encode")
                model_input = gr.HTML("", html_template=PICTURE_TEMPLATE, js_on_load=None,
                                      caption="what the model takes from the drawing", elem_id="sketch-input")
            with gr.Row():
                sample = gr.Button("Prior samples", elem_id="sample")
                samples = gr.HTML("", html_template=PICTURE_TEMPLATE, js_on_load=None, caption="z ~ p(z), decoded",
                                  elem_id="samples")
            shown = [latent_map, decoded, z_text, state, status]
            fast = {"concurrency_id": "decode", "concurrency_limit": 4, "show_progress": "hidden"}
            page.load(self.start, outputs=shown, **fast)
            latent_map.input(self.clicked, [latent_map, state], shown, trigger_mode="always_last", **fast)
            z_text.submit(self.typed, [z_text, state], shown, **fast)
            for event in (sketch.input, encode.click):
                event(self.sketched, [sketch, state], [model_input, *shown], trigger_mode="always_last", **fast)
            sample.click(self.sampled, seed, [samples, seed, status], concurrency_id="sample", concurrency_limit=1)
            if label is not None:
                label.change(self.labelled, [label, state], shown, **fast)
        return page


def _label_colours(space):
    """(label name, its colour on the map) for each label."""
    from matplotlib.colors import to_hex

    return [(space.label_name(label), to_hex(label_colour(label))) for label in np.unique(space.labels)]


def check_port(host, port):
    """Refuse a port that another program holds, in one sentence."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot serve on {host}:{port} ({error.strerror}): give another `port`, "
                          "or stop the program that holds it") from None


def serve(model="pretrained:conv_latent2", host="127.0.0.1", port=7860, data=None, n=5000, map_dims=None,
          block=True):
    """Serve the explorer of `model` (a run path or `pretrained:<name>`) at http://host:port until Ctrl-C
    (in a notebook, such as Colab, it shows in the cell and returns); the map shows its first n test images."""
    gradio = _gradio()
    check_port(host, port)
    print(f"Starting the explorer of {model}: loading it, encoding up to {n} test images, tracing its decoder...",
          flush=True)
    app = ExplorerApp(latent_space(model, data=data, n=n, map_dims=map_dims), title=f"keras_vae explorer: {model}")
    app.warm_up()
    page = app.blocks()
    page.queue(default_concurrency_limit=1)
    try:
        page.launch(server_name=host, server_port=port, share=False, quiet=True, prevent_thread_lock=True,
                    footer_links=[], run_history=False)  # no history: it keeps every image and drawing in the browser
    except OSError as error:
        raise OSError(f"cannot serve on {host}:{port}: {error}".splitlines()[0]) from None
    print(f"Serving the explorer of {model} at http://{host}:{port} (Ctrl-C stops it)", flush=True)
    if block and not gradio.utils.ipython_check():
        wait_for_ctrl_c()
        page.close()
        print("Stopped the explorer.")
    return page


def wait_for_ctrl_c():
    """Return at the first Ctrl-C (SIGINT), and ignore the later ones: its handler only sets a flag, so no
    KeyboardInterrupt can land halfway through the closing that follows, however soon a second Ctrl-C comes."""
    pressed = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: pressed.set())
    try:
        while not pressed.wait(0.5):
            pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
