"""A trained VAE's prior fitted to its aggregate posterior q(z) = E_x q(z|x): N(0, I) puts mass where no image's
codes lie, a mixture fitted to the training images' codes does not, so log p(x) rises with no retraining."""
import shutil
import time
from pathlib import Path

import numpy as np

from . import loading, run_data, runs
from .model import VAE
from .priors import MixturePrior, posterior_draws
from .train import write_figures


def with_fitted_prior(vae, z, components=200, iterations=50, seed=0, verbose=0):
    """A VAE with `vae`'s encoder, decoder and options and a `components`-Gaussian MixturePrior fitted by EM to
    the draws z; and the mean log p(z) of the draws under the fit."""
    prior = MixturePrior(z.shape[-1], components)
    mean_log_prior = prior.fit(z, iterations=iterations, seed=seed, verbose=verbose)
    fitted = VAE(vae.encoder, vae.decoder, beta=float(vae.beta.numpy()), likelihood=vae.likelihood,
                 importance_samples=vae.importance_samples, prior=prior)
    return fitted, mean_log_prior


def fit_prior_run(run, out, components=200, draws=2, iterations=50, seed=0, data=None, force=False):
    """Write at `out` the run at `run` with its prior fitted to the codes of its training images (the validation
    images held out): its models, its config with `prior` added, its history, the fit's numbers in metrics.json
    and its figures, the samples drawn from the fitted prior. Returns (out, the fit's numbers)."""
    runs.check_new_run(out, force)
    source = runs.model_path(run)  # `pretrained:<name>` names a shipped run
    vae, config = loading.load_model(source), runs.config_as_given(source)
    if not isinstance(vae, VAE):
        raise ValueError(f"{run} is an autoencoder: it has no prior p(z) to fit.")
    if vae.num_classes is not None:
        raise ValueError(f"{run} is conditional: training fitted its sampling prior already, one mixture per class "
                         "(sample draws from it; `sampling_components` sets its size).")
    x_train = run_data.training_images(source, data)
    start = time.perf_counter()
    z = posterior_draws(vae, x_train, draws, config.get("binarize") == "dynamic", seed)
    fitted, mean_log_prior = with_fitted_prior(vae, z, components, iterations, seed, verbose=1)
    fit = {"components": components, "draws": draws, "iterations": iterations, "seed": seed,
           "fitted_to": runs.recorded_path(run, out), "codes": len(z), "seconds": round(time.perf_counter() - start, 1),
           "prior_before": vae.prior.description,  # N(0, I), or the mixture of a run fitted or trained before
           "mean_log_prior": {"fitted": mean_log_prior, "before": float(np.mean(vae.prior.log_prob(z)))}}
    work_dir = runs.partial_dir(out)
    shutil.rmtree(work_dir, ignore_errors=True)
    runs.write_config(work_dir, {**config, "prior": {"kind": "mixture", **fit}})
    runs.save_models(work_dir, fitted)
    history = runs.read_json(source / runs.HISTORY)
    x_test, y_test = run_data.test_set(source, data)
    runs.save_results(work_dir, history, {"prior_fit": fit})
    write_figures(work_dir, fitted, x_test, y_test)
    runs.publish(work_dir, out)
    return Path(out), fit
