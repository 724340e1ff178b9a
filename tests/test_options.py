"""Declared options: one declaration gives the API's checks and defaults and the training command's flags."""
import argparse
import dataclasses

import pytest

from keras_vae import cli
from keras_vae.options import Integer, Number, as_flags
from keras_vae.train import TrainConfig


def train_flags():
    """The training command's flags: option string -> its argparse action."""
    parser = cli._parser()
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    return {option: action for action in train._actions for option in action.option_strings}


def test_every_training_option_is_one_flag_with_the_declared_default_help_and_choices():
    flags = train_flags()
    for field in dataclasses.fields(TrainConfig):
        if field.name == "options":
            continue
        switched_off = field.default is True  # a switch on by default has its --no- flag
        action = flags[("--no-" if switched_off else "--") + field.name.replace("_", "-")]
        assert action.dest == field.name
        assert action.default == field.default, field.name  # None: train chooses (inherited, or by the data)
        assert (action.const is False) == switched_off
        help_text = field.metadata["help"]() if callable(field.metadata["help"]) else field.metadata["help"]
        assert as_flags(help_text, cli.flag_names())[:30] in action.help, field.name
        if field.metadata["choices"] is not None:
            assert action.choices, field.name
    assert "--model" not in [o for a in flags.values() if a.help != argparse.SUPPRESS for o in a.option_strings]


@pytest.mark.parametrize("rule,text,value,problem", [
    (Integer(1), "0", 0, "must be an integer 1 or more, got 0"),
    (Integer(1, 5), "6", 6, "must be an integer from 1 to 5, got 6"),
    (Number(0.0, inclusive=False), "0", 0.0, "must be a finite number > 0, got 0"),
    (Number(below=1.0), "1", 1.0, "must be a finite number ≥ 0 and < 1, got 1"),
])
def test_a_rule_says_the_same_on_the_command_line_and_in_the_api(rule, text, value, problem):
    with pytest.raises(argparse.ArgumentTypeError, match=problem):
        cli.parsed(rule)(text)
    assert rule.problem(value, text) == problem


def test_library_errors_name_arguments_that_the_command_line_shows_as_flags():
    message = "`kl_warmup_epochs` 5 must be below `epochs` 5; see `elsewhere`."
    assert as_flags(message, {"kl_warmup_epochs", "epochs"}) == "--kl-warmup-epochs 5 must be below --epochs 5; see `elsewhere`."
