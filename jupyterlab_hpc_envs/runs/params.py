"""Parameters are values, never code: Python identifiers bound to JSON/YAML literals.

They reach the notebook the way papermill does it: a cell tagged ``injected-parameters``, inserted
after the cell tagged ``parameters`` (or first when there is none), binding each name to the
``repr`` of a value that is only ever ``None``, a bool, a number, a string, or lists and dicts of
those, so the cell is a Python literal assignment whatever was typed.
"""

from __future__ import annotations

import keyword
import math
from typing import Any

import nbformat
import yaml

from .. import errors

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
MAX_PARAMETERS = 100
MAX_VALUE_CHARS = 10_000


def check_name(name: object) -> str:
    """A parameter's name: a Python identifier that is not a keyword."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise errors.InvalidInput(
            "parameters", f"{name!r} is not a parameter name: use a Python identifier (a_b1)."
        )
    return name


def check_value(name: str, value: object) -> Any:
    """A JSON value (nested lists and dicts with string keys; finite numbers), else an error."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, list):
        return [check_value(name, item) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: check_value(name, v) for k, v in value.items()}
    raise errors.InvalidInput(
        "parameters",
        f"The value of {name} is not a JSON/YAML literal (a number, string, true/false, null, "
        "list or mapping).",
    )


def parse_literal(name: str, text: str) -> Any:
    """``NAME=VALUE``'s value as YAML (a superset of JSON): ``3``, ``0.5``, ``abc``, ``[1, 2]``."""
    if len(text) > MAX_VALUE_CHARS:
        raise errors.InvalidInput("parameters", f"The value of {name} is too long.")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as err:
        raise errors.InvalidInput(
            "parameters", f"The value of {name} is not a JSON/YAML literal: {err}"
        ) from None
    return check_value(name, value)


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``["alpha=0.5", "label=run a"]`` (the CLI's ``-p``) as checked parameters."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise errors.InvalidInput("parameters", f"{item!r}: write a parameter as NAME=VALUE.")
        out[check_name(name.strip())] = parse_literal(name.strip(), text)
    return check_parameters(out)


def check_parameters(values: object) -> dict[str, Any]:
    """A mapping of parameters (REST body, sweep entry) checked name by name."""
    if not isinstance(values, dict):
        raise errors.InvalidInput(
            "parameters", "The parameters must be a mapping of names to values."
        )
    if len(values) > MAX_PARAMETERS:
        raise errors.InvalidInput("parameters", f"At most {MAX_PARAMETERS} parameters.")
    return {check_name(k): check_value(k, v) for k, v in values.items()}


def source(parameters: dict[str, Any]) -> str:
    """The injected cell's code: one assignment per parameter, the values as Python literals."""
    lines = ["# Parameters of this run (injected by jupyter hpc-envs submit)"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    return "\n".join(lines) + "\n"


def inject(nb: nbformat.NotebookNode, parameters: dict[str, Any]) -> None:
    """Insert the injected cell after the ``parameters`` cell (replacing an earlier injection)."""
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    if not parameters:
        return
    at = 0
    for index, cell in enumerate(nb.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            at = index + 1
            break
    cell = nbformat.v4.new_code_cell(source(check_parameters(parameters)))  # type: ignore[no-untyped-call]
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(at, cell)
