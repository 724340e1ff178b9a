"""The package uses public Keras and TensorFlow API only, and leaves the objects a user passes as they were."""
import re
from pathlib import Path

import keras

PACKAGE = Path(__file__).resolve().parent.parent / "keras_vae"
PRIVATE = re.compile(r"keras\.src|\b(?:keras|tf|layer|model|optimizer|decoder|encoder|vae|variable|tape)\._[a-z]"
                     r"|super\(\)\._[a-z]|__class__\s*=")


def test_no_module_reaches_into_private_keras_or_tensorflow_api():
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert found == []
    assert PRIVATE.search("decoder._image_function") and PRIVATE.search("from keras.src.models import x")


def test_compile_keeps_the_optimizer_it_is_given():
    from keras_vae import VAE, build_decoder, build_encoder

    for optimizer in (keras.optimizers.Adam(), keras.optimizers.SGD(), keras.optimizers.Adam(amsgrad=True)):
        vae = VAE(build_encoder(2, "mlp", hidden_dim=4), build_decoder(2, "mlp", hidden_dim=4))
        vae.compile(optimizer)
        assert vae.optimizer is optimizer
