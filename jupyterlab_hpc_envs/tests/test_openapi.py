"""The REST API against its OpenAPI description, fuzzed by schemathesis on a real server.

Every operation of ``openapi.yaml`` gets generated requests (valid and invalid); every answer must be
a documented status with a body that matches the description, and never a 5xx.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from .servers import ServerProcess

SPEC = Path(__file__).resolve().parents[1] / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def api(demo_site, tmp_path_factory):
    """A Jupyter server with the extension on the demo site, for the whole module."""
    root = tmp_path_factory.mktemp("api")
    env = dict(demo_site.env)
    for var in ("VSC_DATA", "VSC_SCRATCH"):
        (root / var).mkdir()
        env[var] = str(root / var)
    env.update(
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTER_DATA_DIR=str(root / "data"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
    )
    server = ServerProcess(env, root)
    server.start()
    try:
        server.ready_sync()
        yield f"{server.url}/hpc-envs/api", server.headers
    finally:
        server.stop()


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("HPC_ENVS_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_description_and_none_is_a_server_error(case, api):
    base_url, headers = api
    # The bar: no 5xx, and every answer as documented (status, content type, body). Requests are
    # generated valid and invalid; what a valid-looking one gets (often a 404: no such module or
    # environment) must be documented too.
    case.call_and_validate(
        base_url=base_url,
        headers=headers,
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
        ],
    )


def test_the_description_covers_every_route_and_verb_of_the_server():
    import re

    import yaml

    from jupyterlab_hpc_envs.handlers import routes

    documented = {
        (path, verb.upper())
        for path, item in yaml.safe_load(SPEC.read_text())["paths"].items()
        for verb in item
        if verb in ("get", "post", "put", "patch", "delete")
    }
    served = set()
    for pattern, handler in routes("/"):
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.removeprefix("/hpc-envs/api"))
        served |= {(path, verb) for verb in handler.allowed_methods()}
    assert served == documented, (
        f"served, not documented: {sorted(served - documented)}; "
        f"documented, not served: {sorted(documented - served)}"
    )
