"""The README works as written: its commands on a fresh clone with ../shared beside it, and its Python."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SMALL_MNIST

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def reads_a_run_you_train(line):
    """Whether the command reads a run folder that the repository does not ship (one that training writes)."""
    args = shlex.split(line)
    return any(flag in ("--model", "--ae", "--vae") and value.startswith("saved_models/") and not (ROOT / value).exists()
               for flag, value in zip(args, args[1:]))


def readme_commands():
    """Each `python -m keras_vae` line of the README's bash blocks, comments dropped, that runs within a minute
    or two: all but training, what reads a run that training writes, and the k=5000 evaluation."""
    blocks = re.findall(r"```(?:bash|sh|shell)\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("python -m keras_vae ")
            and " train" not in line and "--k 5000" not in line and not reads_a_run_you_train(line)]


def test_the_readme_shows_the_decoder_only_commands():
    assert {shlex.split(c)[3] for c in readme_commands()} == {"sample", "manifold", "reconstruct", "export", "evaluate", "compare"}


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory):
    """The committed repository cloned into a temporary folder, with ../shared beside it as CI has it."""
    if not (SHARED / "data" / "mnist.npz").is_file():
        pytest.skip("the README's commands read ../shared/data/mnist.npz")
    root = tmp_path_factory.mktemp("user")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(root / "main")], check=True)
    (root / "shared").symlink_to(SHARED)
    return root / "main"


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_runs_on_a_fresh_clone_and_writes_what_it_says(fresh_clone, command):
    args = shlex.split(command)
    result = subprocess.run([sys.executable, *args[1:]], cwd=fresh_clone, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == "", "a command starts quietly"
    if "--out" in args:
        out = fresh_clone / args[args.index("--out") + 1]
        assert out.is_file() or (out / "decoder" / "saved_model.pb").is_file() or (out / "compare.json").is_file(), out
    assert subprocess.run(["git", "status", "--porcelain", "saved_models"], cwd=fresh_clone,
                          capture_output=True, text=True).stdout == "", "the shipped models are left as shipped"


def readme_python_blocks():
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


@pytest.mark.slow
@pytest.mark.parametrize("block", readme_python_blocks(), ids=lambda block: block.splitlines()[0][:40])
def test_each_python_block_of_the_readme_runs(block):
    """Run as written from the repository's root, with MNIST shrunk to the test fixture (KERAS_VAE_MNIST) and
    every `epochs=N` made 1."""
    code = re.sub(r"epochs=\d+", "epochs=1", block)
    env = {**os.environ, "KERAS_VAE_MNIST": str(SMALL_MNIST)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
