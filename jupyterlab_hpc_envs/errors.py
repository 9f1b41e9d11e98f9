"""The errors of the domain, one place for every layer to raise and translate.

The package raises these where a request cannot be carried out; each skin translates them once:
the REST handlers into 400 / 404 / 409 with the ``field`` a form shows the message beside (503 when
the module system or Slurm does not answer), the CLI into exit status 2, 3, 4 (or 5) with the message
on stderr. They carry a message written for the person who typed the request: what is wrong
*and* what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterable


class InvalidInput(ValueError):
    """A value typed by a user was refused; the message says why and what to do instead.

    ``fields``: when several values of one form were refused at once, every field's message (a
    form shows each beside its field); ``field`` and ``message`` are then the first, and
    ``message`` says them all, for a reader of the message only.
    """

    def __init__(self, field: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.fields = dict(fields) if fields else {field: message}

    @classmethod
    def several(cls, problems: dict[str, str]) -> InvalidInput:
        """One error for several refused fields (``problems``: message by field, in order)."""
        field, _ = next(iter(problems.items()))
        return cls(field, " ".join(problems.values()), problems)


class NotFound(LookupError):
    """A named thing (environment, partition, module, task) does not exist."""

    def __init__(self, message: str, suggestions: Iterable[str] = (), field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = list(suggestions)
        self.field = field  # the input that named it, for a form to show the message beside


class Conflict(RuntimeError):
    """The request clashes with what exists (a name taken, an operation already running)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ModuleSystemError(RuntimeError):
    """The module system could not be asked; the message says what failed and what to check."""


class SlurmError(RuntimeError):
    """A Slurm command failed; the message carries what Slurm said."""
