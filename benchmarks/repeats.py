"""Ratios that reproduce: the median and range, over several runs of the throughput benchmark, of each
setup's ratio to each baseline (each run's ratio being itself the median of its within-round ratios).

    for i in 1 2 3; do python -m benchmarks.throughput --data ../shared/data/mnist.npz --json run$i.json; done
    python -m benchmarks.repeats run1.json run2.json run3.json --json benchmarks/results/cpu_2core_repeats.json
"""
import argparse
import json
import statistics
from pathlib import Path


def repeated_ratios(runs):
    """{model: {setup: {"vs <baseline>": {"median", "low", "high", "runs"}}}} over the runs' summaries."""
    combined = {}
    for model, first in runs[0]["models"].items():
        for setup, row in first["summary"].items():
            for key in (k for k in row if k.startswith("vs ")):
                values = [run["models"][model]["summary"][setup][key] for run in runs]
                combined.setdefault(model, {}).setdefault(setup, {})[key] = {
                    "median": statistics.median(values), "low": min(values), "high": max(values), "runs": values}
    return combined


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="JSON files written by benchmarks.throughput --json")
    parser.add_argument("--json", default=None, help="write the combined ratios here")
    args = parser.parse_args()
    runs = [json.loads(Path(path).read_text()) for path in args.results]
    combined = repeated_ratios(runs)
    for model, setups in combined.items():
        print(f"\n{model}: ratio, median over {len(runs)} runs (range)")
        for setup, ratios in setups.items():
            print(f"  {setup:<34}" + "".join(f"  {key} {r['median']:.2f}x ({r['low']:.2f}-{r['high']:.2f})"
                                             for key, r in ratios.items() if key != f"vs {setup}"))
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "ratios": combined}, indent=2))


if __name__ == "__main__":
    main()
