"""The autoregressive decoder kind: p(x|z) = prod_i p(x_i | x_<i, z), scored in one pass over [z, x] and drawn
pixel by pixel, by a faster sampler where one fits the decoder (MadeSampler here, pixelvae's NeighbourSampler)."""
import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..decoders import ends_in_mixture, mixture_parameters_model, register_decoder_kind, tile_draws
from ..losses import draw_mixture
from .layers import LOCAL_LAYERS, MaskedConv2D, MaskedDense, causal_neighbourhoods, local_blocks


@register_decoder_kind
class AutoregressiveDecoder:
    """decoder([z, x]) -> every pixel i's conditional given x_<i and z, as its likelihood shows it (Bernoulli:
    p(x_i = 1 | x_<i, z); a mixture of logistics: its mean), masked so that pixel i sees only x_<i."""

    name = "autoregressive"
    draws = True  # the image shown is a draw, fixed by `uniform`
    shows = "x ~ p(x|{z}), drawn pixel by pixel"
    likelihoods = ("bernoulli", "discretized_logistic_mixture")  # conditionals it draws from: binary, 8-bit pixels
    reads_x = True  # scores x from decoder([z, x])

    @staticmethod
    def inputs(latent_dim, image_shape):
        return [keras.Input(shape=(latent_dim,), name="z"), keras.Input(shape=tuple(image_shape), name="x")]

    @staticmethod
    def scoring_inputs(z, x):
        """[z, x]: each pixel is scored given the true pixels before it."""
        z = ops.convert_to_tensor(z)
        return [z, ops.cast(x, z.dtype)]

    @staticmethod
    def logits(decoder_logits, z, x, training=False):
        """decoder_logits([z, x]) for z's draws of x's images (draw-major: row j * n + i of z is draw j for image i):
        the layers that read x alone run once per image, the rest once per draw."""
        z = ops.convert_to_tensor(z)
        return run_with_draws(decoder_logits, [z, ops.cast(x, z.dtype)], training)

    samplers = []  # faster samplers for particular decoders (a class with fits(decoder)): MadeSampler, ...

    @classmethod
    def drawer(cls, decoder):
        """z, uniform -> x ~ p(x|z) drawn in raster order: by the first of the samplers that fits the decoder,
        else one decoder pass per pixel (pixel_by_pixel, the definition); the same draw either way (for
        NeighbourSampler, up to float rounding). The samplers are TensorFlow code: another backend draws pixel by
        pixel, and says so once."""
        fitting = [sampler for sampler in cls.samplers if sampler.fits(decoder)]
        if fitting and keras.backend.backend() == "tensorflow":
            return fitting[0](decoder)
        if fitting:
            warnings.warn(f"{fitting[0].__name__}, the fast draw of this decoder, needs TensorFlow; on "
                          f"{keras.backend.backend()} it draws pixel by pixel, one decoder pass per pixel (slower, the "
                          "same draw).", stacklevel=2)
        return lambda z, uniform: pixel_by_pixel(decoder, z, uniform)


_GRAPHS = weakref.WeakKeyDictionary()  # functional model -> its config, the graph run_with_draws runs


def run_with_draws(model, inputs, training=False):
    """model(inputs) for a functional model whose inputs have one row per image or one per draw (draw-major), run
    layer by layer as its config describes the graph: a layer that takes tensors of both gets the per-image ones
    tiled to one row per draw, so that the layers that read per-image inputs alone run once per image."""
    if model not in _GRAPHS:
        _GRAPHS[model] = model.get_config()
    config = _GRAPHS[model]
    histories = lambda key: [config[key]] if isinstance(config[key][0], str) else config[key]  # one, or a list
    outputs = {tuple(history): tensor for history, tensor in zip(histories("input_layers"), keras.tree.flatten(inputs))}

    def resolve(argument):  # a serialized argument of a layer's call, with its tensors looked up
        if isinstance(argument, dict) and argument.get("class_name") == "__keras_tensor__":
            return outputs[tuple(argument["config"]["keras_history"])]
        if isinstance(argument, (list, tuple)):
            return [resolve(a) for a in argument]
        return {k: resolve(v) for k, v in argument.items()} if isinstance(argument, dict) else argument

    for layer_config in config["layers"]:
        layer = model.get_layer(layer_config["name"])
        for node, call in enumerate(layer_config["inbound_nodes"]):
            args, kwargs = resolve(call["args"]), resolve(call["kwargs"])
            tensors = [t for t in keras.tree.flatten((args, kwargs)) if ops.is_tensor(t)]
            if len(tensors) > 1:
                sizes = [ops.shape(t)[0] for t in tensors]  # numbers on JAX and PyTorch, tensors in a TensorFlow graph
                rows = max(sizes) if all(isinstance(n, int) for n in sizes) else tf.reduce_max(sizes)
                args, kwargs = keras.tree.map_structure(
                    lambda t: tile_draws(t, rows // ops.shape(t)[0]) if ops.is_tensor(t) else t, (args, kwargs))
            for index, tensor in enumerate(keras.tree.flatten(layer(*args, **kwargs, training=training))):
                outputs[(layer.name, node, index)] = tensor
    results = [outputs[tuple(history)] for history in histories("output_layers")]
    return results[0] if len(results) == 1 else results



def pixel_by_pixel(decoder, z, uniform):
    """x ~ p(x|z) from any autoregressive decoder, one decoder pass per pixel in raster order: a Bernoulli pixel i
    is 1 where uniform_i < p(x_i = 1 | x_<i, z); a mixture's pixel is drawn from its parameters given x_<i with
    its uniforms (draw_mixture). A tf.while_loop under tf.function on TensorFlow, a Python loop elsewhere."""
    mixture = ends_in_mixture(decoder)
    height, width, channels = decoder.inputs[1].shape[1:]
    z, uniform = ops.convert_to_tensor(z), ops.convert_to_tensor(uniform)
    x = ops.zeros((ops.shape(z)[0], height, width, channels))
    pixels = tf.range(height * width) if keras.backend.backend() == "tensorflow" else range(height * width)
    for i in pixels:
        pixel = ops.reshape(ops.one_hot(i, height * width, dtype=x.dtype), (1, height, width, 1))
        if mixture:
            parameters = mixture_parameters_model(decoder)([z, x], training=False)[:, i // width, i % width]
            x += pixel * draw_mixture(parameters, channels, uniform[:, i // width, i % width])[:, None, None, :]
        else:
            x += pixel * ops.cast(uniform < decoder([z, x], training=False), x.dtype)
    return x


class MadeSampler:
    """The pixel-by-pixel draw from a MADE decoder (made.py's `made`), at the cost of one hidden-unit
    update per pixel instead of one decoder pass.

    There p(x_i = 1 | x_<i, z) = sigmoid(relu(x W1 + b1 + c1(z)) W2[:, i] + b2_i + (x Wd)_i + c2_i(z)), each W
    masked so that pixel i sees x_<i only. Setting pixel i adds x_i W1[i] to the hidden pre-activations and
    x_i Wd[i] to the direct logits, so the next pixel costs a dot product (an XLA-compiled loop). Sums taken in
    another order can flip a draw whose uniform lies within rounding of its probability, so each image is
    checked with one decoder pass (pixel i of its output depends on x_<i only) and drawn again from the first
    pixel that disagrees: the result is the pixel-by-pixel draw, bit for bit. A decoder with local layers
    (made.py's local_channels) adds pixel i's local logit, from its preceding neighbours as drawn.
    """

    def __init__(self, decoder):
        masked = {(l.inputs_kind, l.outputs_kind): l for l in decoder.layers if isinstance(l, MaskedDense)}
        hidden, output, direct = (masked[k] for k in (("pixels", "hidden"), ("hidden", "pixels"), ("pixels", "pixels")))
        context = {l.units: l for l in decoder.layers if type(l) is keras.layers.Dense and not l.use_bias}
        self.decoder, self.hidden, self.output, self.direct = decoder, hidden, output, direct
        self.context = keras.Model(decoder.inputs[0], [context[hidden.units].output, context[output.units].output])
        self.local = LocalLogits(decoder) if LocalLogits.fits(decoder) else None
        self.draw_from = tf.function(self._draw_from, jit_compile=True)

    @staticmethod
    def fits(decoder):
        """Whether `decoder` has MADE's layers, the three masked Dense kinds and the two bias-free context ones,
        and no masked convolution but local layers (LocalLogits)."""
        if any(isinstance(l, MaskedConv2D) for l in decoder.layers) and not LocalLogits.fits(decoder):
            return False
        kinds = {(l.inputs_kind, l.outputs_kind) for l in decoder.layers if isinstance(l, MaskedDense)}
        units = {l.units for l in decoder.layers if type(l) is keras.layers.Dense and not l.use_bias}
        wanted = {("pixels", "hidden"), ("hidden", "pixels"), ("pixels", "pixels")}
        return kinds == wanted and len(units) == 2

    def _draw_from(self, x, start, uniform, hidden_context, pixel_context):
        """x with pixels start.. of each row drawn afresh (rows are images, pixels flattened), those before kept."""
        hidden_weights = self.hidden.kernel * self.hidden.kernel_mask  # the weights as they are now
        output_weights = tf.transpose(self.output.kernel * self.output.kernel_mask)
        direct_weights = self.direct.kernel * self.direct.kernel_mask
        num_pixels = direct_weights.shape[0]
        kept = x * tf.cast(tf.range(num_pixels)[None, :] < start[:, None], x.dtype)
        hidden = self.hidden.bias + hidden_context + tf.matmul(kept, hidden_weights)
        logits = self.output.bias + pixel_context + tf.matmul(kept, direct_weights)
        pixels = tf.TensorArray(x.dtype, size=num_pixels).unstack(tf.transpose(x))
        local = self.local.logit_function() if self.local is not None else None
        image = tf.pad(kept, [[0, 0], [0, 1]])  # the pixels set so far, and a zero outside the image
        maps = self.local.initial_maps(tf.shape(x)[0]) if self.local is not None else ()
        # Feature maps are filled from the first pixel on: positions before `start` are not kept.
        first = 0 if maps else tf.reduce_min(start)
        for i in tf.range(first, num_pixels):
            logit = tf.linalg.matvec(tf.nn.relu(hidden), output_weights[i]) + logits[:, i]
            if local is not None:
                local_logit, maps = local(image, maps, i)
                logit += local_logit
            drawn = i >= start
            pixel = tf.where(drawn, tf.cast(uniform[:, i] < tf.sigmoid(logit), x.dtype), pixels.read(i))
            added = tf.where(drawn, pixel, tf.zeros_like(pixel))[:, None]
            hidden += added * hidden_weights[i]
            logits += added * direct_weights[i]
            if local is not None:
                image += added * tf.one_hot(i, num_pixels + 1, dtype=x.dtype)
            pixels = pixels.write(i, pixel)
        return tf.transpose(pixels.stack())

    def __call__(self, z, uniform):
        z, uniform = tf.convert_to_tensor(z), tf.convert_to_tensor(uniform)
        n, num_pixels = tf.shape(z)[0], self.direct.kernel.shape[0]
        flat_uniform = tf.reshape(uniform, (n, num_pixels))
        hidden_context, pixel_context = self.context(z, training=False)
        draw = lambda x, start: self.draw_from(x, start, flat_uniform, hidden_context, pixel_context)

        def disagreement(x):
            # Where each image first differs from the draw its decoder pass gives (num_pixels: nowhere).
            probabilities = tf.reshape(self.decoder([z, tf.reshape(x, tf.shape(uniform))], training=False), (n, num_pixels))
            wanted = tf.cast(flat_uniform < probabilities, x.dtype)
            wrong = tf.concat([wanted != x, tf.ones((n, 1), tf.bool)], axis=1)
            return wanted, tf.argmax(tf.cast(wrong, tf.int32), axis=1, output_type=tf.int32)

        def redraw(x, wanted, first):
            fixed = tf.one_hot(first, num_pixels, dtype=x.dtype)  # all zeros where first == num_pixels
            x = draw(x * (1 - fixed) + wanted * fixed, first + 1)
            return (x, *disagreement(x))

        x = draw(tf.zeros((n, num_pixels)), tf.zeros((n,), tf.int32))
        x, _, _ = tf.while_loop(lambda x, wanted, first: tf.reduce_any(first < num_pixels), redraw,
                                (x, *disagreement(x)))
        return tf.reshape(x, tf.shape(uniform))


AutoregressiveDecoder.samplers.append(MadeSampler)


class LocalLogits:
    """Pixel i's logit from made.py's local layers (a mask-A convolution, residual mask-B ones, two 1x1),
    computed at pixel i alone from the pixels and features before it: what MadeSampler adds while it draws pixel by
    pixel. The feature maps that the residual convolutions read are filled in one position per pixel."""

    def __init__(self, decoder):
        self.neighbours, self.hidden, self.logits = (decoder.get_layer(name) for name in LOCAL_LAYERS)
        self.blocks = local_blocks(decoder)
        height, width = decoder.inputs[1].shape[1:3]
        self.size = height * width
        convolutions = (self.neighbours, *self.blocks)
        self.taps, indices = zip(*(causal_neighbourhoods(conv, height, width) for conv in convolutions))
        self.indices = tuple(tf.constant(i) for i in indices)

    @staticmethod
    def fits(decoder):
        """Whether `decoder` has the local layers, a mask-A convolution first and no masked convolution but
        theirs, over one image channel."""
        layers = {l.name: l for l in decoder.layers}
        convolutions = [l for l in decoder.layers if isinstance(l, MaskedConv2D)]
        return (all(name in layers for name in LOCAL_LAYERS) and getattr(layers[LOCAL_LAYERS[0]], "mask", None) == "A"
                and decoder.inputs[1].shape[-1] == 1
                and len(convolutions) == 1 + len(local_blocks(decoder)))

    def initial_maps(self, n):
        """The feature maps the residual convolutions read, one zero row per position and one for outside."""
        return tuple(tf.zeros((self.size + 1, n, self.neighbours.filters)) for _ in self.blocks)

    def logit_function(self):
        """(image, maps, i) -> (pixel i's local logit, `maps` with pixel i's features) for each row of `image`
        (pixels flattened, then one zero: outside the image), with the weights as they are now, read once per draw."""
        kernels = [tf.reshape(tf.gather_nd(conv.kernel, taps), (-1, conv.filters))
                   for conv, taps in zip((self.neighbours, *self.blocks), self.taps)]
        hidden_kernel, logits_kernel = self.hidden.kernel[0, 0], self.logits.kernel[0, 0]

        def logit(image, maps, i):
            n = tf.shape(image)[0]
            around = tf.gather(image, self.indices[0][i], axis=1)
            features = tf.nn.relu(tf.matmul(around, kernels[0]) + self.neighbours.bias)
            updated = []
            for block, kernel, indices, feature_map in zip(self.blocks, kernels[1:], self.indices[1:], maps):
                feature_map = tf.tensor_scatter_nd_update(feature_map, [[i]], features[None])
                around = tf.reshape(tf.transpose(tf.gather(feature_map, indices[i]), (1, 0, 2)), (n, -1))
                features = tf.nn.relu(features + tf.matmul(around, kernel) + block.bias)
                updated.append(feature_map)
            hidden = tf.nn.relu(tf.matmul(features, hidden_kernel) + self.hidden.bias)
            return tf.matmul(hidden, logits_kernel)[:, 0] + self.logits.bias[0], tuple(updated)
        return logit
