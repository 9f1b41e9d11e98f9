"""The configuration ``make demo`` starts JupyterLab with: conda works out of the box there."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from .helpers import call, task_log
from .test_conda import conda_channel, create  # noqa: F401 - conda_channel is a fixture

DEMO_CONFIG = Path(__file__).parents[2] / "scripts" / "demo_server_config.py"


@pytest.fixture
def jp_server_config(jp_server_config, conda_channel, demo_site, monkeypatch):  # noqa: F811
    """The test server configured as ``make demo`` configures it (its channel built)."""
    monkeypatch.setenv("HPC_ENVS_DEMO_DIR", str(demo_site.dir))
    loaded = PyFileConfigLoader(DEMO_CONFIG.name, path=str(DEMO_CONFIG.parent)).load_config()
    jp_server_config.merge(loaded)
    return jp_server_config


async def test_the_demo_server_defaults_to_its_local_conda_channel_and_creates_from_it(
    site_env,
    conda_channel,  # noqa: F811 - the fixture
    jp_fetch,
):
    # Given the server of `make demo`: the form's default channel is the demo's local one
    _, info = await call(jp_fetch, "GET", "conda")
    assert info["channels"] == [conda_channel]
    assert conda_channel.startswith("file://")
    assert info["engine"]["kind"] == "rattler"

    # When a conda environment is created without naming a channel
    _, record = await create(jp_fetch, name="engine-democonda", python="3.11", partition="zen4")

    # Then it is built from the local channel
    assert record["state"] == "succeeded", await task_log(jp_fetch, record["id"])
    _, env = await call(jp_fetch, "GET", "envs", "engine-democonda")
    assert env["options"]["channels"] == [conda_channel]
    assert env["builds"]["zen4"]["state"] == "ready"
