"""Pytest plugins for the whole suite: pytest-jupyter's server fixtures (``jp_fetch``, …).

pytest-asyncio (``asyncio_mode = "auto"``) runs each async test in the loop of its own runner,
while pytest-jupyter starts the Jupyter server in ``jp_asyncio_loop``: two loops, and a test
awaiting the server would wait forever. The override below makes them one loop, so that async
tests and async fixtures need no marker and still work with ``jp_fetch``.
"""

from __future__ import annotations

import asyncio

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server", "jupyterlab_hpc_envs.tests.users")


@pytest.fixture
def jp_asyncio_loop(_function_scoped_runner) -> asyncio.AbstractEventLoop:
    """pytest-jupyter's loop is the loop pytest-asyncio runs the test in.

    ``_function_scoped_runner`` is pytest-asyncio's (1.x) runner of function-scoped tests; the
    runner closes the loop after the test, when the server fixtures have shut down.
    """
    return _function_scoped_runner.get_loop()


@pytest.fixture
def jp_server_config(jp_server_config):
    """The test servers load this server extension."""
    jp_server_config["ServerApp"]["jpserver_extensions"]["jupyterlab_hpc_envs"] = True
    return jp_server_config
