"""The environment kinds of this extension, by name: the one place that maps a manifest's
``kind`` (or a request's) to the object that knows that kind."""

from __future__ import annotations

from .. import errors
from ..tasks import TaskManager
from .kind_base import Kind, KindTools
from .kind_conda import CondaKind
from .kind_venv import VenvKind
from .manifest import Build, Manifest


class Kinds:
    """The venv and conda kinds, built once with the tools they share."""

    def __init__(self, tools: KindTools, tasks: TaskManager) -> None:
        self.venv = VenvKind(tools, tasks)
        self.conda = CondaKind(tools, tasks)
        self._by_name: dict[str, Kind] = {k.name: k for k in (self.venv, self.conda)}

    def of(self, env: Manifest) -> Kind:
        """The kind of an existing environment (a manifest of no known kind is a venv's)."""
        return self._by_name.get(env.kind, self.venv)

    def named(self, kind: object) -> Kind:
        """The kind a creation request asks for; an unknown one is refused."""
        found = self._by_name.get(kind) if isinstance(kind, str) else None
        if found is None:
            raise errors.InvalidInput(
                "kind", f"Unknown environment kind {kind!r}: use 'venv' or 'conda'."
            )
        return found

    def for_adoption(self, path: str) -> Kind:
        """The kind of an environment made by hand at ``path`` (a venv unless it is conda's:
        the venv kind then says what is missing)."""
        return self.conda if self.conda.can_adopt(path) else self.venv

    def write_launch(self, env: Manifest, build: Build) -> str:
        """Write the launch script of ``env``'s ``build``; its path."""
        return self.of(env).write_launch(env, build)
