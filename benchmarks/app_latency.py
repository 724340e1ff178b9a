"""Click-to-image round trips of the browser explorer (`python -m keras_vae app`) in headless Chromium: from the
press on the latent map to the decoded image loaded in the page, through Gradio's queue on localhost. Rounds of
clicks on spread points; each round's median, and the median and range over rounds (this host's speed drifts).
With --slow, each click goes while a prior-samples request of the same page runs: it must not wait for it.

    python -m benchmarks.app_latency --data ../shared/data/mnist.npz --json benchmarks/results/cpu_2core_app_latency.json \
        --screenshot docs/app.png
    python -m benchmarks.app_latency --model pretrained:made --data ../shared/data/mnist.npz --slow \\
        --json benchmarks/results/cpu_2core_app_latency_made.json

Needs Debian's chromium (apt-get install chromium) and pip install 'keras_vae[app]' playwright.
"""
import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from tests.browser import changed, click_map, draw_stroke, free_port, open_page, shown, start_app


def screenshot(page, path):
    """The page after a drawn 7, encoded, and a click on prior samples: the README's picture."""
    before = shown(page, "decoded")
    draw_stroke(page, [(0.25, 0.2), *[(0.25 + 0.05 * i, 0.2) for i in range(1, 11)],
                       *[(0.75 - 0.025 * i, 0.2 + 0.06 * i) for i in range(1, 12)]])
    changed(page, "decoded", before)
    page.locator("#sample").click()
    changed(page, "samples", None)
    page.screenshot(path=str(path), full_page=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="pretrained:conv_latent2")
    parser.add_argument("--data", default=None, help="the run's images, if not where it recorded them")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=10, help="clicks per round")
    parser.add_argument("--slow", action="store_true", help="click while a prior-samples request runs")
    parser.add_argument("--json", default=None)
    parser.add_argument("--screenshot", default=None, help="a PNG of the page at the end (docs/app.png)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from keras_vae.train import hardware

    port = free_port()
    server = start_app(args.model, args.data, port)
    rng = np.random.default_rng(0)
    rounds, sample_seconds = [], []
    try:
        with sync_playwright() as playwright:
            browser, page = open_page(playwright, shutil.which("chromium"), port)
            click_map(page, 0.5, 0.5)  # the page's first event: not timed
            for _ in range(args.rounds):
                times = []
                for fx, fy in rng.uniform(0.1, 0.9, size=(args.clicks, 2)):
                    if args.slow:
                        before, started = shown(page, "samples"), time.perf_counter()
                        page.locator("#sample").click()
                    times.append(click_map(page, fx, fy)[0])
                    if args.slow:
                        changed(page, "samples", before, timeout=120000)
                        sample_seconds.append(time.perf_counter() - started)
                rounds.append(float(np.median(times)))
                print(f"round {len(rounds)}: median {rounds[-1]:.0f} ms (range {min(times):.0f} to {max(times):.0f})",
                      flush=True)
            if args.screenshot:
                screenshot(page, args.screenshot)
            browser.close()
    finally:
        server.kill()
    result = {"model": args.model, "clicks_per_round": args.clicks, "while_sampling": args.slow,
              "round_median_ms": rounds, "median_ms": float(np.median(rounds)), "range_ms": [min(rounds), max(rounds)],
              **({"prior_samples_s_median": float(np.median(sample_seconds))} if args.slow else {}),
              "hardware": hardware()}
    print(f"click-to-image round trip: median {result['median_ms']:.0f} ms over {args.rounds} rounds "
          f"(round medians {min(rounds):.0f} to {max(rounds):.0f})"
          + (f"; prior samples took {result['prior_samples_s_median']:.2f} s each" if args.slow else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
