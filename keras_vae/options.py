"""Declared options: a setting's default, help, choices and range, declared once (a dataclass field) and read by
the API, which checks values and names arguments in its errors, and by the command line, which derives its flags.

Library errors name an argument as `name`; the command line shows it as its flag, --name (`as_flags`).
"""
import dataclasses
import math
import numbers
import re


class Rule:
    """What a setting takes: `problem(value)` says what is wrong with a value (None if nothing); `parse` reads it
    from text (the command line's flags: cli.parsed)."""

    kind, parse = "a value", str

    def problem(self, value, text=None):
        raise NotImplementedError


class Integer(Rule):
    """An integer in [low, high] (no upper bound where high is None)."""

    kind, parse = "an integer", int

    def __init__(self, low, high=None):
        self.low, self.high = low, high

    def problem(self, value, text=None):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return f"must be an integer, got {value!r}"
        if value < self.low or (self.high is not None and value > self.high):
            bounds = f"from {self.low} to {self.high}" if self.high is not None else f"{self.low} or more"
            return f"must be an integer {bounds}, got {value}"
        return None


class Number(Rule):
    """A finite number >= low (> low where inclusive is False) and < below."""

    kind, parse = "a number", float

    def __init__(self, low=0.0, inclusive=True, below=math.inf):
        self.low, self.inclusive, self.below = low, inclusive, below

    def problem(self, value, text=None):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return f"must be a number, got {value!r}"
        if not math.isfinite(value) or value < self.low or (value == self.low and not self.inclusive) or value >= self.below:
            bound = "" if self.below == math.inf else f" and < {self.below:g}"
            return f"must be a finite number {'≥' if self.inclusive else '>'} {self.low:g}{bound}, got {text or value}"
        return None


def option(default, help, check=None, choices=None, path=None, inherited=False):
    """A dataclass field declaring a setting: its default and help; `check` an Integer or Number range, `choices`
    the allowed values (or a function giving them, for a registry); `path` what a path names ("run", "data",
    "folder"), for the command line to check; `inherited`: unset, it is taken from the run a run starts from."""
    metadata = {"help": help, "check": check, "choices": choices, "path": path, "inherited": inherited}
    return dataclasses.field(default=default, metadata=metadata)


def require(name, value, rule):
    """Raise ValueError naming the argument `name` unless `rule` (an Integer or Number) takes `value`; returns it."""
    problem = rule.problem(value)
    if problem:
        raise ValueError(f"`{name}` {problem}.")
    return value


def choices_of(field):
    """The allowed values of a declared field, or None for any."""
    choices = field.metadata.get("choices")
    return sorted(choices()) if callable(choices) else choices


def check_fields(instance):
    """Raise ValueError naming the argument, its value and what it takes, for the first declared field of the
    dataclass `instance` whose value is outside its range or choices."""
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        check, choices = field.metadata.get("check"), choices_of(field)
        problem = check.problem(value) if check is not None and value is not None else None
        if problem:
            raise ValueError(f"`{field.name}` {problem}.")
        if choices is not None and value is not None and value not in choices:
            raise ValueError(f"`{field.name}` {value!r} is not one of {', '.join(map(str, choices))}.")


def flag(name):
    """The command line's flag for an argument name: latent_dim -> --latent-dim."""
    return "--" + name.replace("_", "-")


def as_flags(message, names):
    """A library message with each `name` among `names` written as its flag, and other `...` as they are."""
    return re.sub(r"`(\w+)`", lambda m: flag(m.group(1)) if m.group(1) in names else m.group(0), message)
