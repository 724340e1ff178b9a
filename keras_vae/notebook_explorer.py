"""The notebook's latent-space explorer: the codes of test images by digit beside the image decoded at a point z
that sliders move (and the pointer, under an interactive matplotlib backend such as ipympl's `%matplotlib widget`).
Where widgets cannot render (a notebook's page on GitHub), it shows as a still figure with one sentence."""
import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .latent import latent_space
from .plots import show

STILL = ("A still of the explorer: run this notebook in Colab or Jupyter to move z with the sliders "
         "and see the digit change.")


def explorer(model, x=None, labels=None, data=None, n=5000, sliders=4, map_dims=None, label=None):
    """An Explorer of `model` (a VAE or Autoencoder, or a run path / `pretrained:<name>`) over images x labelled by
    `labels`, by default the first n test images; sliders for the `sliders` dims with the most KL, the map over
    `map_dims` (default the two with the most KL), every other dim at the codes' mean; for a conditional model, the
    class `label` decoded (default the first; a menu changes it). Display it as a cell's value."""
    space = latent_space(model, x, labels, data, n, sliders=sliders, map_dims=map_dims)
    if label is not None:
        space.choose(label)
    return Explorer(space)


class Explorer:
    """A figure of the map (the codes, a cross at z) beside the image decoded at z, which `move` sets."""

    def __init__(self, space):
        self.space = space
        self.values = {d: float(space.center[d]) for d in space.slider_dims}
        self.figure = _new_figure()
        ax_map, self.ax_image = self.figure.subplots(1, 2, width_ratios=(1.25, 1))
        self.ax_map = ax_map
        space.scatter(ax_map)
        if space.labels is not None:
            ax_map.legend(title="digit" if space.label_names is None else "label", markerscale=4, fontsize="small",
                          loc="upper left", bbox_to_anchor=(1.0, 1.0))
        x_dim, y_dim = space.map_dims
        ax_map.set_xlabel(f"z[{x_dim}]")
        ax_map.set_ylabel(f"z[{y_dim}] (grows downward)")
        ax_map.set_title("z_mean of the test images" + (f", dims {x_dim} and {y_dim} of {space.size}"
                                                         if space.size > 2 else ""))
        (self.cross,) = ax_map.plot([], [], marker="+", markersize=22, markeredgewidth=2.5, color="black")
        self.ax_image.set_axis_off()
        self.shown, self._syncing = None, False
        self.figure.canvas.mpl_connect("button_press_event", self._on_pointer)
        self.figure.canvas.mpl_connect("motion_notify_event", self._on_pointer)
        self.sliders = {}
        self.move()

    @property
    def z(self):
        return self.space.z(self.values)

    def move(self, label=None, **values):
        """Set dims of z by name (z0=..., z3=...), and for a conditional model the class decoded (`label`, a name),
        then redraw the cross and the decoded image."""
        if label is not None:
            self.space.choose(label)
        for name, value in values.items():
            dim = int(name.lstrip("z"))
            if dim not in range(self.space.size):
                raise ValueError(f"this model's z has dims z0..z{self.space.size - 1}; got {name}")
            self.values[dim] = float(value)
        z = self.z
        self.cross.set_data([z[self.space.map_dims[0]]], [z[self.space.map_dims[1]]])
        image = self.space.image(z)
        if self.shown is None:
            show(self.ax_image, image[..., 0] if image.shape[-1] == 1 else image)
            self.shown = self.ax_image.images[0]
        else:
            self.shown.set_data(np.clip(image[..., 0] if image.shape[-1] == 1 else image, 0.0, 1.0))
        given = "" if self.space.label is None else f", y = {self.space.class_names[self.space.label]}"
        self.ax_image.set_title(f"{self.space.shows} at z = [{', '.join(f'{v:.2f}' for v in z[:4])}"
                                f"{', ...' if len(z) > 4 else ''}]{given}", fontsize="medium")
        self._syncing = True  # the sliders follow z without moving it again
        for dim, slider in self.sliders.items():
            slider.value = self.values[dim]
        self._syncing = False
        self._refresh()
        return self

    def _on_pointer(self, event):
        """The pointer over the map (moving or clicking) moves z there."""
        if event.inaxes is self.ax_map:
            x_dim, y_dim = self.space.map_dims
            self.move(**{f"z{x_dim}": event.xdata, f"z{y_dim}": event.ydata})

    def png(self, still=False):
        """The figure as PNG bytes; with `still`, titled with the sentence that says how to move it."""
        if still:
            self.figure.suptitle(STILL, fontsize="medium")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        if still:
            self.figure.suptitle("")
        return buffer.getvalue()

    def widget(self):
        """The explorer as ipywidgets: a slider per slider dim above the figure (an ipympl canvas, or a picture
        redrawn on every move)."""
        import ipywidgets

        for dim in self.space.slider_dims:
            low, high = self.space.limits[dim]
            slider = ipywidgets.FloatSlider(value=self.values[dim], min=low, max=high, step=(high - low) / 200,
                                            description=f"z[{dim}]", continuous_update=True, readout_format=".2f")
            slider.observe(lambda change, dim=dim: self._syncing or self.move(**{f"z{dim}": change["new"]}),
                           names="value")
            self.sliders[dim] = slider
        controls = list(self.sliders.values())
        if self.space.classes:  # a conditional model: the class decoded
            menu = ipywidgets.Dropdown(options=list(self.space.class_names), description="class y",
                                       value=self.space.class_names[self.space.label])
            menu.observe(lambda change: self.move(label=change["new"]), names="value")
            controls.append(menu)
        if _interactive(self.figure):
            view = self.figure.canvas
        else:
            view = self._picture = ipywidgets.Image(value=self.png(), format="png")
            self.figure.set_layout_engine("none")  # laid out once: each move redraws 25% sooner
        return ipywidgets.VBox([ipywidgets.HBox(controls, layout={"flex_flow": "row wrap"}), view])

    def _refresh(self):
        if _interactive(self.figure):
            self.figure.canvas.draw_idle()
        elif getattr(self, "_picture", None) is not None:
            self._picture.value = self.png()

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget where the front end renders widgets, else the still figure; its sentence as plain text."""
        bundle = {"image/png": self.png(still=True), "text/plain": STILL}
        try:
            widget = self.widget()
        except ImportError:  # no ipywidgets: the still alone
            return bundle
        view = widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        return {**bundle, **{k: v for k, v in view.items() if k != "text/plain"}}


def _new_figure():
    """A pyplot figure under an interactive backend (its canvas is then a widget that takes the pointer), else a
    plain one (no pyplot state)."""
    if "ipympl" in matplotlib.get_backend() or matplotlib.get_backend() == "widget":
        from matplotlib import pyplot

        return pyplot.figure(figsize=(10, 4.6), layout="constrained")
    return Figure(figsize=(10, 4.6), layout="constrained")


def _interactive(figure):
    return type(figure.canvas).__module__.startswith("ipympl")
