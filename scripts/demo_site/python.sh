# shellcheck shell=bash disable=SC2034  # (the PY_* tables are read by modules.sh)
# Real Python interpreters behind the demo's Python modules, and real pip installs into module prefixes.
#
# Nothing here ever installs into an interpreter's own site-packages: packages go with `pip install --target`
# into DIR/software/<arch>/<Name>/<version>/lib/pythonX.Y/site-packages, as EasyBuild lays them out.

# Python series of the site -> the GCCcore generation whose Python module uses it (EasyBuild's pairing).
declare -A PY_GCCCORE=([3.10]=11.3.0 [3.11]=12.3.0 [3.12]=13.2.0)
# Series the site cannot do without (SciPy-bundle 2023.07, IPython and tqdm build on 3.11).
readonly PY_REQUIRED_SERIES=(3.11)

# Filled in by find_interpreters, per series:
declare -A PY_EXE=()       # the real interpreter (an absolute path)
declare -A PY_VERSION=()   # its full version, e.g. 3.11.7
declare -A PY_REALPREFIX=() # its sys.prefix
declare -A PY_ORIGIN=()    # "pyenv" or "system"
declare -A PY_OTHERS=()    # the other interpreters of the series that were found, for the help text
declare -A PY_MODULE=()    # the module's full name, e.g. Python/3.11.7-GCCcore-12.3.0

# The Python packages of the package modules, pinned. The versions are those of the EasyBuild
# easyconfigs of the same names where a wheel exists for the module's Python.
readonly SCIPY_2023_REQS=(numpy==1.25.1)
readonly SCIPY_2022_REQS=(numpy==1.22.3)
# SciPy-bundle 2023.11 (generation 2023b, Python 3.12): the newer generation environments migrate to.
readonly SCIPY_2023B_REQS=(numpy==1.26.2)
# python-dateutil (needed by jupyter_client) stays at 2.x: a 4.x in the module would shadow the base
# interpreter's copy and break packages there that want <3 (botocore in pyenv's 3.11 here).
readonly IPYTHON_REQS=(ipython==8.14.0 ipykernel==6.29.5 "python-dateutil<3")
readonly TQDM_REQS=(tqdm==4.66.1)

# pyenv's root, also when HOME is not the user's own (env.sh of a demo site changes HOME).
pyenv_roots() {
    local root home
    if command -v pyenv >/dev/null; then
        root="$(pyenv root 2>/dev/null || true)"
        [[ -n "$root" ]] && printf '%s\n' "$root"
    fi
    [[ -n "${PYENV_ROOT:-}" ]] && printf '%s\n' "$PYENV_ROOT"
    home="$(getent passwd "$(id -un)" | cut -d: -f6 || true)"
    [[ -n "$home" ]] && printf '%s\n' "$home/.pyenv"
    return 0
}

# interpreter_candidates SERIES: the interpreters of a series, best first: pyenv versions (newest patch
# first), then /usr/bin/pythonX.Y.
interpreter_candidates() {
    local series="$1" root dir
    local -a found=()
    if [[ "${DEMO_SITE_NO_PYENV:-0}" != 1 ]]; then
        while IFS= read -r root; do
            [[ -d "$root/versions" ]] || continue
            for dir in "$root/versions/$series".*; do
                # Plain CPython releases only (3.11.7, not 3.11-dev or 3.11.7t).
                [[ "${dir##*/}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && -x "$dir/bin/python$series" ]] || continue
                found+=("$dir/bin/python$series")
            done
            ((${#found[@]} > 0)) && break
        done < <(pyenv_roots)
        if ((${#found[@]} > 0)); then
            printf '%s\n' "${found[@]}" | sort -V -r -u
        fi
    fi
    if [[ -x "/usr/bin/python$series" ]]; then
        printf '%s\n' "/usr/bin/python$series"
    fi
}

# python_facts EXE: "VERSION PREFIX" of an interpreter, ignoring the caller's Python variables.
python_facts() {
    env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 "$1" -c \
        'import sys; print("%d.%d.%d" % sys.version_info[:3], sys.prefix)'
}

find_interpreters() {
    local series exe version prefix
    for series in "${!PY_GCCCORE[@]}"; do
        local -a candidates=()
        mapfile -t candidates < <(interpreter_candidates "$series")
        if ((${#candidates[@]} == 0)); then
            if [[ " ${PY_REQUIRED_SERIES[*]} " == *" $series "* ]]; then
                die "no Python $series found (looked in pyenv's versions and /usr/bin/python$series)"
            fi
            warn "no Python $series on this machine: its Python module (and what builds on it) is left out"
            continue
        fi
        exe="${candidates[0]}"
        read -r version prefix < <(python_facts "$exe") || die "cannot run $exe"
        PY_EXE[$series]="$exe"
        PY_VERSION[$series]="$version"
        PY_REALPREFIX[$series]="$prefix"
        if [[ "$exe" == /usr/bin/* ]]; then PY_ORIGIN[$series]=system; else PY_ORIGIN[$series]=pyenv; fi
        PY_OTHERS[$series]="$(printf '%s\n' "${candidates[@]:1}")"
        PY_MODULE[$series]="Python/$version-GCCcore-${PY_GCCCORE[$series]}"
    done
}

# The software prefix of a module: DIR/software/<arch>/<Name>/<version>.
module_prefix() {
    local arch="$1" full="$2"
    printf '%s\n' "$SITE_DIR/software/$arch/$full"
}

# The python of a Python module's prefix (what `module load Python/...` puts first on PATH).
module_python() {
    local arch="$1" series="$2"
    printf '%s\n' "$(module_prefix "$arch" "${PY_MODULE[$series]}")/bin/python$series"
}

# make_python_prefix ARCH SERIES: the Python module's prefix.
# - An interpreter with a prefix of its own (a pyenv version folder): the module prefix is a symlink to it.
#   `python -m venv` run from there writes `home = <module prefix>/bin` into pyvenv.cfg, and such a
#   venv works (checked by the tests).
# - A system interpreter (prefix /usr): a folder whose bin/ holds symlinks to it and small pip wrappers;
#   Python still finds its standard library through the resolved symlink.
make_python_prefix() {
    local arch="$1" series="$2"
    local exe="${PY_EXE[$series]}" realprefix="${PY_REALPREFIX[$series]}"
    local prefix
    prefix="$(module_prefix "$arch" "${PY_MODULE[$series]}")"
    mkdir -p "$(dirname -- "$prefix")"

    local own_prefix=0
    if [[ "$realprefix" != /usr && "$realprefix" != /usr/local && -x "$realprefix/bin/python$series" ]] &&
        [[ "$(realpath -- "$realprefix/bin/python$series")" == "$(realpath -- "$exe")" ]]; then
        own_prefix=1
    fi

    if ((own_prefix)); then
        if [[ -L "$prefix" && "$(readlink -- "$prefix")" == "$realprefix" ]]; then
            return 0
        fi
        [[ -L "$prefix" ]] && rm -f -- "$prefix"
        [[ -e "$prefix" ]] && rm -rf -- "$prefix"
        ln -s -- "$realprefix" "$prefix"
    else
        [[ -L "$prefix" ]] && rm -f -- "$prefix"
        mkdir -p "$prefix/bin"
        ln -sfn -- "$exe" "$prefix/bin/python$series"
        ln -sfn -- "python$series" "$prefix/bin/python3"
        ln -sfn -- "python$series" "$prefix/bin/python"
        local pip
        for pip in pip pip3 "pip$series"; do
            cat >"$prefix/bin/$pip" <<EOF
#!/bin/sh
# pip of the module's Python (generated by scripts/demo-site)
exec "\$(dirname "\$0")/python$series" -m pip "\$@"
EOF
            chmod 755 "$prefix/bin/$pip"
        done
    fi
}

# pip_env [env's options] COMMAND...: run COMMAND in the environment for pip during the build: the caller's (so that the registry set up on this
# machine is used for downloads) without anything that would redirect or widen an install.
pip_env() {
    env -u PYTHONPATH -u PYTHONHOME -u PIP_TARGET -u PIP_PREFIX -u PIP_USER -u PIP_REQUIRE_VIRTUALENV \
        -u VIRTUAL_ENV PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        PIP_ROOT_USER_ACTION=ignore env "$@"
}

# download_wheels SERIES REQS...: fetch the wheels for one interpreter once into DIR/cache/wheels.
download_wheels() {
    local series="$1"
    shift
    local cache="$SITE_DIR/cache/wheels"
    local stamp
    stamp="$cache/.downloaded-py$series-$(printf '%s ' "$@" | sha256sum | cut -c1-16)"
    [[ -e "$stamp" ]] && return 0
    log "downloading wheels for Python $series: $*"
    pip_env "${PY_EXE[$series]}" -m pip download --quiet --no-cache-dir --only-binary=:all: \
        --dest "$cache" "$@" >&2 || die "pip download for Python $series failed: $*"
    touch -- "$stamp"
}

# install_packages ARCH SERIES FULLNAME REQS...: install REQS (and their dependencies) from the wheel cache
# into the module prefix DIR/software/ARCH/FULLNAME with the module's own Python, like EasyBuild does.
# Skipped when the prefix already holds exactly that install.
install_packages() {
    local arch="$1" series="$2" full="$3"
    shift 3
    local prefix python stamp_text
    prefix="$(module_prefix "$arch" "$full")"
    python="$(module_python "$arch" "$series")"
    stamp_text="python=${PY_VERSION[$series]} reqs=$*"
    if [[ -f "$prefix/.demo-site-install" && "$(cat -- "$prefix/.demo-site-install")" == "$stamp_text" ]]; then
        return 0
    fi
    log "installing $* into $full ($arch)"
    local tmp="$prefix.partial"
    rm -rf -- "$tmp"
    local site="$tmp/lib/python$series/site-packages"
    mkdir -p "$site"
    # --no-index + our cache only; PIP_CONFIG_FILE=/dev/null so no pip.conf adds other sources.
    pip_env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
        PIP_BREAK_SYSTEM_PACKAGES=1 "$python" -m pip install --quiet --no-index \
        --find-links "$SITE_DIR/cache/wheels" --only-binary=:all: --no-cache-dir --no-warn-script-location \
        --target "$site" "$@" >&2 || die "pip install of $* into $full ($arch) failed"
    # pip --target puts console scripts into TARGET/bin; EasyBuild has them in PREFIX/bin.
    if [[ -d "$site/bin" ]]; then
        mv -- "$site/bin" "$tmp/bin"
    fi
    # What was really installed, for the modulefile's help and EBEXTSLIST.
    pip_env "$python" -c '
import importlib.metadata as md, sys
dists = {d.metadata["Name"]: d.version for d in md.distributions(path=[sys.argv[1]])}
for name in sorted(dists, key=str.lower):
    print(f"{name}=={dists[name]}")
' "$site" >"$tmp/.demo-site-packages.txt"
    printf '%s\n' "$stamp_text" >"$tmp/.demo-site-install"
    rm -rf -- "$prefix"
    mv -- "$tmp" "$prefix"
}

# installed_list ARCH FULLNAME: the name==version lines recorded at install time.
installed_list() {
    local file
    file="$(module_prefix "$1" "$2")/.demo-site-packages.txt"
    [[ -f "$file" ]] && cat -- "$file"
    return 0
}

build_python_modules() {
    find_interpreters
    local series arch
    for series in "${!PY_EXE[@]}"; do
        log "Python $series: ${PY_MODULE[$series]} <- ${PY_EXE[$series]} (${PY_ORIGIN[$series]})"
    done

    download_wheels 3.11 "${SCIPY_2023_REQS[@]}" "${IPYTHON_REQS[@]}" "${TQDM_REQS[@]}"
    if [[ -n "${PY_EXE[3.10]:-}" ]]; then
        download_wheels 3.10 "${SCIPY_2022_REQS[@]}"
    fi
    if [[ -n "${PY_EXE[3.12]:-}" ]]; then
        download_wheels 3.12 "${SCIPY_2023B_REQS[@]}"
    fi

    for arch in "${DEMO_ARCHS[@]}"; do
        for series in "${!PY_EXE[@]}"; do
            make_python_prefix "$arch" "$series"
        done
        install_packages "$arch" 3.11 SciPy-bundle/2023.07-gfbf-2023a "${SCIPY_2023_REQS[@]}"
        install_packages "$arch" 3.11 IPython/8.14.0-GCCcore-12.3.0 "${IPYTHON_REQS[@]}"
        if [[ "$arch" == zen4 ]]; then
            install_packages "$arch" 3.11 tqdm/4.66.1-GCCcore-12.3.0 "${TQDM_REQS[@]}"
        fi
        if [[ -n "${PY_EXE[3.10]:-}" ]]; then
            install_packages "$arch" 3.10 SciPy-bundle/2022.05-foss-2022a "${SCIPY_2022_REQS[@]}"
        fi
        if [[ -n "${PY_EXE[3.12]:-}" ]]; then
            install_packages "$arch" 3.12 SciPy-bundle/2023.11-gfbf-2023b "${SCIPY_2023B_REQS[@]}"
        fi
    done
}
