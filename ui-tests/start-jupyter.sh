#!/usr/bin/env bash
# Start the JupyterLab of the UI tests inside the demo HPC site (scripts/demo-site): Lmod module trees,
# a one-node Slurm, and HOME, $VSC_DATA… of the site, as a user on its zen4 node. Playwright's
# webServer runs this (`npm start`); `make test-ui` builds and starts the site and sets
# HPC_ENVS_DEMO_DIR.
set -euo pipefail

if [[ -z "${HPC_ENVS_DEMO_DIR:-}" ]]; then
    echo "start-jupyter.sh: HPC_ENVS_DEMO_DIR is not set: the UI tests run on the demo site." >&2
    echo "  Run 'make test-ui' (it builds and starts one in .demo/), or:" >&2
    echo "  scripts/demo-site build DIR && scripts/demo-site start DIR && HPC_ENVS_DEMO_DIR=DIR npx playwright test" >&2
    exit 1
fi
if [[ ! -f "$HPC_ENVS_DEMO_DIR/env.sh" ]]; then
    echo "start-jupyter.sh: $HPC_ENVS_DEMO_DIR/env.sh is missing: build the site with scripts/demo-site build $HPC_ENVS_DEMO_DIR" >&2
    exit 1
fi

cd "$(dirname "${BASH_SOURCE[0]}")"
# The local conda channel of the conda tests (a relocatable CPython, ipykernel and an activate.d hook
# as conda packages), kept inside the demo site like the Python tests keep it: built once (about
# 30 s), then only checked. jupyter_server_test_config.py makes it the default channel of the
# py-rattler engine.
channel="$HPC_ENVS_DEMO_DIR/conda-channel"
../scripts/conda-channel "$channel" >&2
export HPC_ENVS_UI_CONDA_CHANNEL="file://$channel"
# shellcheck disable=SC1091
source "$HPC_ENVS_DEMO_DIR/env.sh"
mkdir -p "$HOME"
# Partition zen4 on a copy of the site's zen4 module tree, private to this server (a few kB of
# modulefiles): tests/diagnostics.spec.ts hides a module in it, never in the site's own trees.
private="$(mktemp -d "${TMPDIR:-/tmp}/hpc-envs-ui.XXXXXX")"
python3 - "$HPC_ENVS_SITE_FILE" "$private" <<'PY'
import json, shutil, sys
site_file, private = sys.argv[1], sys.argv[2]
with open(site_file, encoding="utf-8") as f:
    site = json.load(f)
zen4 = site["partitions"]["zen4"]
tree = f"{private}/modules-zen4"
shutil.copytree(zen4["modulepath"][0], tree, symlinks=True)
zen4["modulepath"] = [tree, *zen4["modulepath"][1:]]
with open(f"{private}/site.json", "w", encoding="utf-8") as f:
    json.dump(site, f)
PY
export HPC_ENVS_SITE_FILE="$private/site.json" MODULEPATH="$private/modules-zen4"
# Limits of kernel resources, as a site would set them (the demo site's description sets none):
# tests/kernels.spec.ts has a value over a limit refused beside its field.
exec jupyter lab --config jupyter_server_test_config.py \
    '--HpcEnvs.kernel_limits={"time": "4:00:00", "cpus": 2, "memory": "4G", "gpus": 0, "accounts": ["hpcdemo", "hpcdemo-ai"]}'
