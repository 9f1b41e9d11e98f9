"""The module catalog and module loading against the demo site's real Lmod."""

from __future__ import annotations

import asyncio

from jupyterlab_hpc_envs.config import HpcEnvs
from jupyterlab_hpc_envs.envs import scripts
from jupyterlab_hpc_envs.site import Site
from jupyterlab_hpc_envs.site.modules import scan_tree

from .helpers import call, wait_task
from .test_envs_rest import IPYTHON, PYTHON

TQDM = "tqdm/4.66.1-GCCcore-12.3.0"


async def test_the_folder_scan_lists_the_same_modules_as_lmods_spider(site_env, demo_site):
    site = Site(HpcEnvs())
    part = await site.partition("zen4")
    spider = await site.modules.catalog(part.modulepath)
    scanned = scan_tree(part.modulepath)
    assert sorted(m.full for m in scanned) == sorted(m.full for m in spider)
    assert {m.path for m in scanned} == {m.path for m in spider}


async def test_the_first_catalog_comes_from_the_scan_then_the_spider_fills_in(site_env):
    site = Site(HpcEnvs())
    part = await site.partition("zen4")
    first = await site.catalog(part)
    assert all(m.description == "" for m in first)
    complete = await site.catalogs.get(part.modulepath, complete=True)
    python = next(m for m in complete if m.full == PYTHON)
    assert python.description, "the spider's catalog carries the modulefiles' descriptions"
    for _ in range(20):
        if await site.catalog(part) is complete:
            break
        await asyncio.sleep(0.05)
    assert await site.catalog(part) is complete


async def test_rebuilding_where_a_module_is_missing_names_it(site_env, jp_fetch):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "withtqdm", "modules": [PYTHON, IPYTHON, TQDM], "partition": "zen4"},
    )
    assert code == 202
    assert (await wait_task(jp_fetch, data["task"]["id"]))["state"] == "succeeded"
    code, data = await call(
        jp_fetch, "POST", "envs", "withtqdm", "builds", body={"partition": "zen2"}, ok=False
    )
    assert code == 404
    assert TQDM in data["message"]
    assert "zen2" in data["message"]


async def test_the_launch_script_names_the_module_a_node_lacks(site_env, jp_fetch, demo_site):
    code, data = await call(
        jp_fetch,
        "POST",
        "envs",
        body={"name": "lacks", "modules": [PYTHON, IPYTHON, TQDM], "partition": "zen4"},
    )
    assert code == 202
    assert (await wait_task(jp_fetch, data["task"]["id"]))["state"] == "succeeded"
    launch = site_env["VSC_DATA"] / "hpc-envs" / "lacks" / "launch-zen4.sh"
    # As on a node whose module tree is zen2's (the arch check is what would refuse first there).
    result = demo_site.run(
        f"{launch} python -c pass",
        env={"MODULEPATH": str(demo_site.modulepath("zen2")), "HPC_ENVS_IGNORE_ARCH": "1"},
        check=False,
    )
    assert result.returncode == scripts.EXIT_MODULE_LOAD
    assert f"module {TQDM} is not available" in result.stderr
