"""The architecture registry: options come from the bodies' signatures, and are checked where they are used."""
import pytest
from keras import layers

from keras_vae import ARCHITECTURES, build_decoder, build_encoder, register_architecture
from keras_vae.autoregressive import AutoregressiveDecoder
from keras_vae.decoders import DirectDecoder


def test_each_architecture_declares_its_options_and_decoder_kind_in_one_registration():
    assert {name: a.options for name, a in ARCHITECTURES.items()} == {
        "conv": {}, "mlp": {"hidden_dim": 500}, "deepconv": {}, "made": {"hidden_dim": 500, "masked_layers": 1, "local_channels": 0, "local_layers": 0}}
    assert ARCHITECTURES["made"].decoder_kind is AutoregressiveDecoder
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
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'; choose one of .*'conv'.*'made'"):
        build_encoder(2, "resnet")


def test_bodies_that_disagree_on_an_option_default_are_refused():
    def encoder_body(x, units=8):
        return layers.Dense(units)(layers.Flatten()(x))

    def decoder_body(z, image_shape, units=16):
        return layers.Reshape(image_shape)(layers.Dense(784)(layers.Dense(units)(z)))

    with pytest.raises(ValueError, match="different defaults"):
        register_architecture("disagreeing", encoder_body, decoder_body)
    assert "disagreeing" not in ARCHITECTURES
