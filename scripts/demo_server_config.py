"""Configuration of the JupyterLab that ``make demo`` starts on the demo site.

Conda works out of the box: the demo's local channel (``scripts/conda-channel``, built by ``make
demo`` into the demo site's ``conda-channel`` folder) is the default channel, with the py-rattler
engine, as a site without network access would configure its mirror.
"""

from __future__ import annotations

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by the config loader

channel = os.path.join(os.environ.get("HPC_ENVS_DEMO_DIR", ""), "conda-channel")
if os.path.isfile(os.path.join(channel, "hpc-envs-channel.json")):
    c.HpcEnvs.conda_engine = "rattler"
    c.HpcEnvs.conda_channels = [f"file://{channel}"]
