"""Sweeps: a list of parameter sets, or a grid of named lists, read from a JSON or YAML file.

``[{"alpha": 0.1}, {"alpha": 0.2}]`` is three runs as written; ``{"alpha": [0.1, 0.2], "n": [1,
2]}`` is their product (four sets, the first name varying slowest). Each set is checked like
``-p`` parameters, and the number of sets against the site's array limit, before anything runs.
"""

from __future__ import annotations

import itertools
from typing import Any

import yaml

from .. import errors
from . import params

MAX_FILE_BYTES = 1_000_000


def expand(data: object, limit: int) -> list[dict[str, Any]]:
    """The parameter sets of a sweep (list or grid), checked; at most ``limit`` of them."""
    if isinstance(data, list):
        sets = [params.check_parameters(item) for item in data]
    elif isinstance(data, dict) and data:
        names = [params.check_name(k) for k in data]
        lists = list(data.values())
        if not all(isinstance(v, list) and v for v in lists):
            raise errors.InvalidInput(
                "sweep", "A grid maps each parameter name to a non-empty list of values."
            )
        size = 1
        for values in lists:
            size *= len(values)
        if size > limit:
            raise _too_many(size, limit)
        sets = [params.check_parameters(dict(zip(names, combo, strict=True)))
                for combo in itertools.product(*lists)]  # fmt: skip
    else:
        raise errors.InvalidInput(
            "sweep", "A sweep is a list of parameter sets or a mapping of names to lists."
        )
    if not sets:
        raise errors.InvalidInput("sweep", "The sweep has no parameter sets.")
    if len(sets) > limit:
        raise _too_many(len(sets), limit)
    return sets


def _too_many(size: int, limit: int) -> errors.InvalidInput:
    return errors.InvalidInput(
        "sweep", f"The sweep has {size} parameter sets; this site allows at most {limit} per run."
    )


def read(path: str, limit: int) -> list[dict[str, Any]]:
    """A sweep file (JSON or YAML) expanded into its parameter sets."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise errors.InvalidInput("sweep", f"Cannot read the sweep file {path}: {err}") from None
    if len(text) > MAX_FILE_BYTES:
        raise errors.InvalidInput("sweep", f"The sweep file {path} is too large.")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise errors.InvalidInput("sweep", f"{path} is not JSON or YAML: {err}") from None
    return expand(data, limit)
