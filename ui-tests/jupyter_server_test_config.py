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

# Conda environments: the py-rattler engine (no conda installer can be had here) on the local channel
# start-jupyter.sh builds in the demo site, and a site that discourages conda, so that the form shows
# the site's message before a conda environment is created and its warnings after.
channel = os.environ.get("HPC_ENVS_UI_CONDA_CHANNEL", "")
if channel:
    c.HpcEnvs.conda_engine = "rattler"
    c.HpcEnvs.conda_channels = [channel]
c.HpcEnvs.conda_policy = "discouraged"
c.HpcEnvs.conda_policy_message = (
    "Conda is discouraged at hpcdemo: prefer a venv on the Python modules, or ask "
    "hpc-support@example.org first."
)
