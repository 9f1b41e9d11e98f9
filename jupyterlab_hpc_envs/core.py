"""The one object the server, the CLI and the tests share: configuration, site, tasks, environments."""

from __future__ import annotations

from .config import HpcEnvs
from .envs.packages import Packages
from .envs.service import Environments
from .kernels.jobs import sweep_orphans
from .site import Site
from .tasks import TaskManager


class Core:
    """Everything the extension knows, built once from an :class:`HpcEnvs` configuration."""

    def __init__(self, config: HpcEnvs) -> None:
        self.config = config
        self.site = Site(config)
        self.tasks = TaskManager(config.data_dir)
        self.envs = Environments(config, self.site, self.tasks)
        self.packages = Packages(self.envs.storage, self.site, self.envs.kinds)

    async def start(self) -> None:
        """What a server does once at start: recover tasks a dead server left behind, and cancel
        kernel jobs that no live kernel owns (a server killed with its kernels running)."""
        await self.tasks.recover()
        await sweep_orphans(self.config)
