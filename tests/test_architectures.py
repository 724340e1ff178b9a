"""The architecture registry: options come from the bodies' signatures, and are checked where they are used."""
import keras
import numpy as np
import pytest
from keras import layers

from keras_vae import ARCHITECTURES, build_decoder, build_encoder, register_architecture
from keras_vae.architectures import halvings
from keras_vae.layers import PerImageProjection
from keras_vae.autoregressive import AutoregressiveDecoder
from keras_vae.decoders import DirectDecoder


def test_each_architecture_declares_its_options_and_decoder_kind_in_one_registration():
    assert {name: a.options for name, a in ARCHITECTURES.items()} == {
        "conv": {}, "mlp": {"hidden_dim": 500}, "deepconv": {}, "resnet": {}, "resnet_modulated": {}, "made": {"hidden_dim": 500, "masked_layers": 1, "local_channels": 0, "local_layers": 0},
        "pixelvae": {"pixel_channels": 64, "neighbours": "color"}}
    assert ARCHITECTURES["made"].decoder_kind is AutoregressiveDecoder is ARCHITECTURES["pixelvae"].decoder_kind
    assert ARCHITECTURES["made"].likelihoods == ("bernoulli",) and ARCHITECTURES["resnet"].likelihoods == ()
    assert ARCHITECTURES["conv"].decoder_kind is DirectDecoder


def test_an_option_is_passed_to_the_bodies_that_take_it():
    encoder = build_encoder(2, "mlp", hidden_dim=24)
    decoder = build_decoder(2, "made", hidden_dim=12)
    assert encoder.get_layer(index=2).units == 24
    assert [len(decoder.inputs), decoder.get_layer(index=2).units] == [2, 12]


def test_an_option_the_architecture_lacks_is_refused_by_name():
    with pytest.raises(ValueError, match="`hidden_dim` does not apply to `architecture` conv \\(its options: none\\)"):
        build_encoder(2, "conv", hidden_dim=64)
    with pytest.raises(ValueError, match="`width` does not apply to `architecture` mlp \\(its options: `hidden_dim`\\)"):
        build_decoder(2, "mlp", width=3)
    with pytest.raises(ValueError, match="`hidden_dim` must be an integer 1 or more, got 0"):
        build_decoder(2, "mlp", hidden_dim=0)


def test_an_unknown_architecture_names_the_registered_ones():
    with pytest.raises(ValueError, match="Unknown architecture 'vgg'; choose one of .*'conv'.*'made'"):
        build_encoder(2, "vgg")


def test_bodies_that_disagree_on_an_option_default_are_refused():
    def encoder_body(x, units=8):
        return layers.Dense(units)(layers.Flatten()(x))

    def decoder_body(z, image_shape, units=16):
        return layers.Reshape(image_shape)(layers.Dense(784)(layers.Dense(units)(z)))

    with pytest.raises(ValueError, match="different defaults"):
        register_architecture("disagreeing", encoder_body, decoder_body)
    assert "disagreeing" not in ARCHITECTURES


@pytest.mark.parametrize("architecture", ["conv", "deepconv", "mlp", "resnet", "resnet_modulated"])
@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3), (16, 24, 1)])
def test_the_stacks_follow_the_image_size_and_channels(architecture, image_shape):
    encoder = build_encoder(4, architecture, image_shape)
    decoder = build_decoder(4, architecture, image_shape)
    assert tuple(encoder.input.shape[1:]) == image_shape and tuple(decoder.output.shape[1:]) == image_shape
    strided = [layer for layer in encoder.layers if getattr(layer, "strides", (1, 1)) == (2, 2)]
    assert len(strided) == {"mlp": 0}.get(architecture, halvings(image_shape))
    if architecture != "mlp":  # the smallest feature map is at most 8 on a side
        assert max(strided[-1].output.shape[1:3]) <= 8


def test_the_residual_stack_has_a_shortcut_per_block_and_no_narrow_layer_before_z():
    encoder = build_encoder(16, "resnet", (32, 32, 3))
    decoder = build_decoder(16, "resnet", (32, 32, 3), likelihood="discretized_logistic_mixture", mixture_components=4)
    adds = [layer for layer in encoder.layers if isinstance(layer, layers.Add)]
    blocks = [l for l in decoder.layers if isinstance(l, layers.Add) and l.name != "logits"]
    assert len(adds) == halvings((32, 32)) and len(blocks) == 2
    features = encoder.get_layer("z_mean").input
    assert features.shape[-1] == 8 * 8 * 64  # the 8x8 feature map itself feeds z's heads
    # each block starts as its shortcut (its branch's last convolution is zero): a deep stack trains from the start
    branches = keras.Model(encoder.input, [add.input[1] for add in adds])
    for branch in branches(np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3))):
        assert np.abs(keras.ops.convert_to_numpy(branch)).max() == 0.0
    assert decoder.get_layer("logits").output.shape[1:] == (32, 32, 4 * 10) and decoder.output.shape[1:] == (32, 32, 3)
    # the parameters every pixel shares, from z alone, start at zero: the stack's own parameters at first
    shared = keras.Model(decoder.input, decoder.get_layer("logits").input[1])
    assert shared.output.shape[1:] == (1, 1, 40)
    assert np.abs(shared.predict(np.random.default_rng(1).normal(size=(2, 16)), verbose=0)).max() == 0.0
    with pytest.raises(ValueError, match="`mixture_components` must be an integer from 1 to 100, got 0"):
        build_decoder(16, "resnet", (32, 32, 3), likelihood="discretized_logistic_mixture", mixture_components=0)


def test_resnet_modulated_is_resnet_plus_a_projection_from_z_that_starts_at_zero():
    plain = build_decoder(16, "resnet", (32, 32, 3), likelihood="discretized_logistic_mixture")
    modulated = build_decoder(16, "resnet_modulated", (32, 32, 3), likelihood="discretized_logistic_mixture")
    projection = next(layer for layer in modulated.layers if isinstance(layer, PerImageProjection))
    assert modulated.count_params() - plain.count_params() == (16 + 1) * 32 * 10  # W(z): 32 features to 10 parameters
    terms = keras.Model(modulated.input, modulated.get_layer("logits").input)
    outputs = terms.predict(np.random.default_rng(1).normal(size=(2, 16)), verbose=0)
    assert len(outputs) == 3 and np.abs(outputs[1]).max() == 0.0 and np.abs(outputs[2]).max() == 0.0
    assert projection.output.shape[1:] == (32, 32, 10)


def test_halvings_go_down_to_at_most_8_and_the_28_pixel_stack_is_the_keras_examples():
    assert [halvings((s, s)) for s in (8, 16, 28, 32, 64, 128)] == [0, 1, 2, 2, 3, 4]
    widths = [layer.filters for layer in build_encoder(2, "conv").layers if hasattr(layer, "filters")]
    assert widths == [32, 64] and build_decoder(2, "conv").count_params() == 65089


@pytest.mark.parametrize("side", [30, 60, 100])
def test_sizes_the_stacks_cannot_halve_evenly_are_refused_in_one_line_with_a_size_that_fits(side):
    with pytest.raises(ValueError, match=rf"`architecture` conv halves each side until it is at most 8: {side}x{side} "
                                         r"takes \d halvings, so each side must divide by \d+ .* give `image_size` \d+x\d+"):
        build_encoder(2, "conv", (side, side, 1))


def test_the_made_decoder_refuses_color_in_one_line():
    with pytest.raises(ValueError, match=r"`architecture` made models grayscale images \(one channel.*these have 3: give "
                                         r"`channels` 1"):
        build_decoder(2, "made", (28, 28, 3))
