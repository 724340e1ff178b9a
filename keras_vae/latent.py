"""A model's latent space as the explorers show it (notebook_explorer.py in a notebook, app.py in the browser): the codes
of a set of images, a map over two latent dims, the dims with the most KL first, and z -> image, x -> z."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .data import require_images
from .decoders import decode, encode, image_shape, latent_dim, num_classes, sample_prior, shows
from .plots import informative_dims, scatter_codes

MARGIN = 0.25  # the map reaches this far (in units of z) beyond the codes it shows, and at least to +-3


class LatentSpace:
    """The codes z_mean of images x (labelled by `labels`), the map over `map_dims` (default: the two dims with the
    most KL), slider dims (the `sliders` with the most KL, the map's first) and every other dim at the codes' mean.
    The map runs z[map_dims[0]] left to right and z[map_dims[1]] top to bottom, as the manifold does. For a
    conditional model, the codes are each image's given its label, and `label` is the class images are decoded as
    (`choose` sets it; the first class at first)."""

    def __init__(self, encoder, decoder, x, labels=None, label_names=None, map_dims=None, sliders=4, seed=0,
                 prior=None):
        self.encoder, self.decoder, self.seed = encoder, decoder, seed
        self.prior = prior  # the p(z) prior samples draw from (None: N(0, I)): a run's sampling prior, else the model's
        self.size = latent_dim(decoder)
        self.classes = num_classes(decoder)
        self.label = None if self.classes is None else 0
        self.z_mean, z_log_var = encode(encoder, x, None if self.classes is None else labels)
        self.labels, self.label_names = (None if labels is None else np.asarray(labels)), label_names
        order = informative_dims(self.z_mean, z_log_var)
        self.map_dims = tuple(order[:2]) if map_dims is None else check_map_dims(map_dims, self.size)
        self.slider_dims = (*self.map_dims, *[d for d in order if d not in self.map_dims][:max(sliders - 2, 0)])
        self.center = self.z_mean.mean(axis=0)
        low, high = np.quantile(self.z_mean, [0.001, 0.999], axis=0)
        self.limits = [(min(float(lo) - MARGIN, -3.0), max(float(hi) + MARGIN, 3.0)) for lo, hi in zip(low, high)]

    def z(self, values):
        """The full z: the codes' mean, with {dim: value} set."""
        z = self.center.astype("float32").copy()
        for dim, value in values.items():
            z[dim] = value
        return z

    def at_fraction(self, fx, fy):
        """The z at the point (fx, fy) of the map, each in [0, 1] from its left and top edges."""
        (x_lo, x_hi), (y_lo, y_hi) = (self.limits[d] for d in self.map_dims)
        return self.z({self.map_dims[0]: x_lo + fx * (x_hi - x_lo), self.map_dims[1]: y_lo + fy * (y_hi - y_lo)})

    def fraction_of(self, z):
        """Where z lies on the map: (fx, fy) from its left and top edges, clipped to the map."""
        (x_lo, x_hi), (y_lo, y_hi) = (self.limits[d] for d in self.map_dims)
        fx, fy = (z[self.map_dims[0]] - x_lo) / (x_hi - x_lo), (z[self.map_dims[1]] - y_lo) / (y_hi - y_lo)
        return float(np.clip(fx, 0.0, 1.0)), float(np.clip(fy, 0.0, 1.0))

    def image(self, z):
        """The image the decoder shows for one z, (height, width, channels) in [0, 1]: decoder(z), or for a decoder
        that draws, the draw fixed by `seed`."""
        return decode(self.decoder, np.asarray(z, "float32")[None], seed=self.seed, labels=self.label)[0]

    def code(self, x):
        """z_mean of one image x (of the class `label`, for a conditional model)."""
        return encode(self.encoder, np.asarray(x, "float32")[None], self.label)[0][0]

    def samples(self, n, seed=0):
        """n images decoded from z ~ the explorer's prior (of the class `label`, for a conditional model)."""
        return sample_prior(self.decoder, n, seed, self.prior, labels=None if self.label is None else np.full(n, self.label))

    @property
    def class_names(self):
        """The classes a conditional model decodes, by name; () for an unconditional one."""
        return tuple(self.label_name(label) for label in range(self.classes or 0))

    def choose(self, name):
        """Decode as the class named `name` (or its integer) from now on; one error naming the classes otherwise."""
        if str(name) not in self.class_names:
            raise ValueError(f"{name!r} is no class of this model; its classes are {', '.join(self.class_names)}"
                             if self.classes else "this model is not conditional: it decodes no class")
        self.label = self.class_names.index(str(name))

    @property
    def image_shape(self):
        return image_shape(self.decoder)

    @property
    def shows(self):
        """What the image for a z is, in words."""
        return shows(self.decoder)

    def scatter(self, ax, marker_size=2):
        """The codes on `ax` over the map's two dims and limits, one colour per label (tab10's C0..C9)."""
        x_dim, y_dim = self.map_dims
        scatter_codes(ax, self.z_mean, self.labels, self.map_dims, self.label_names, marker_size)
        ax.set_xlim(self.limits[x_dim])
        ax.set_ylim(self.limits[y_dim][::-1])  # z[y_dim] grows downward

    def label_name(self, label):
        return str(label) if self.label_names is None else self.label_names[label]

    def map_pixels(self, size=480):
        """The map alone as a (size, size, 3) uint8 picture, edge to edge (no axes), for a page to click on."""
        fig = Figure(figsize=(size / 100, size / 100), dpi=100)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        self.scatter(ax, marker_size=3)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def check_map_dims(dims, size):
    """`dims` as two different latent dims of a `size`-D model, or one error saying what the map takes."""
    dims = tuple(int(d) for d in dims)
    if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= d < size for d in dims):
        raise ValueError(f"the map shows two different dims of z, each in 0..{size - 1} for this {size}-D model; "
                         f"got {list(dims)}")
    return dims


def parse_z(text, size):
    """A z typed as `size` numbers separated by commas or spaces, or one error saying what a z of this model is."""
    parts = text.replace(",", " ").split()
    try:
        values = np.array([float(part) for part in parts], dtype="float32")
    except ValueError:
        raise ValueError(f"z is {size} numbers separated by commas; {text!r} is not") from None
    if len(values) != size or not np.isfinite(values).all():
        raise ValueError(f"this model's z has {size} numbers; {len(values)} were given" if len(values) != size else
                         "z must be finite numbers")
    return values


def latent_space(model, x=None, labels=None, data=None, n=5000, **options):
    """The LatentSpace of `model` (a VAE or Autoencoder, or a run path / `pretrained:<name>`) over images x and
    their labels; by default the first n test images: the run's test set for a path, else MNIST's (load_mnist)."""
    from . import loading, run_data, runs
    from .data import load_mnist

    path = runs.model_path(model) if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__") else None
    prior = getattr(model, "prior", None)  # an autoencoder has none: N(0, I)
    if path is not None:
        model = loading.load_model(path)
        options.setdefault("label_names", runs.read_config(path).get("images", {}).get("class_names"))
        prior = loading.load_sampler(path)[1]  # the run's sampling prior where it has one, as `sample` draws
    if options.get("map_dims") is not None:
        check_map_dims(options["map_dims"], latent_dim(model.decoder))  # before any image is read and encoded
    if x is None:
        x, labels = run_data.test_set(path, data, n) if path is not None else (a[:n] for a in load_mnist(data)[1])
    require_images(x)
    return LatentSpace(model.encoder, model.decoder, x, labels, prior=prior, **options)


def digit_from_sketch(ink, image_shape, ink_threshold=0.05):
    """A drawing (a 2-D array of ink in [0, 1]) as the image a model of MNIST-like digits takes: cropped to its
    strokes, scaled so that its longer side is 20/28 of the image's, centred by its centre of mass (as MNIST's
    digits were), in 8-bit steps like any image file; channels repeated for a color model."""
    from PIL import Image

    ink = np.asarray(ink, dtype="float32")
    rows, cols = np.nonzero(ink > ink_threshold)
    if len(rows) == 0:
        raise ValueError("the sketchpad is empty: draw a digit on it first")
    height, width = image_shape[:2]
    crop = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = round(min(height, width) * 20 / 28) / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS)).clip(0.0, 1.0)
    total = small.sum()
    mass_y, mass_x = ((np.indices(small.shape) * small).reshape(2, -1).sum(axis=1) / total if total > 0
                      else (np.array(small.shape) - 1) / 2)
    top = int(np.clip(round(height / 2 - 0.5 - mass_y), 0, height - small.shape[0]))
    left = int(np.clip(round(width / 2 - 0.5 - mass_x), 0, width - small.shape[1]))
    image = np.zeros((height, width), dtype="float32")
    image[top:top + small.shape[0], left:left + small.shape[1]] = small
    image = np.round(image * 255) / 255
    return np.repeat(image[..., None], image_shape[2] if len(image_shape) > 2 else 1, axis=-1)
