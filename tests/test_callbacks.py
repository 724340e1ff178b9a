import keras
import numpy as np

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.callbacks import KLWarmup


def test_kl_warmup_raises_beta_linearly_from_zero_to_the_target(mnist_small):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.Adam())
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(vae.beta.numpy())))
    history = vae.fit(mnist_small[0][0][:32], epochs=6, batch_size=32, verbose=0, callbacks=[KLWarmup(4, target=2.0), record])
    np.testing.assert_allclose(seen, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])
    # With beta = 0 the total loss is the reconstruction alone.
    assert history.history["loss"][0] == history.history["reconstruction_loss"][0]
