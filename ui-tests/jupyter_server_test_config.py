"""Configuration of the Jupyter server the Galata UI tests start (``npm start``).

Galata's helper opens every door (no token, no XSRF check): for tests on loopback only.
"""

from __future__ import annotations

import os

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by the config loader

configure_jupyter_server(c)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("HPC_ENVS_UI_PORT", "8888"))
# The tests run as root on CI and on the developers' machines.
c.ServerApp.allow_root = True
