# shellcheck shell=bash disable=SC2034  # (the constants are used by the other parts)
# Common helpers of scripts/demo-site: messages, the site folder's layout, system packages, processes, ports.

# The CPU architectures (and so module trees and Slurm partitions) of the demo site. zen4 is the default
# partition and the arch of the node the JupyterLab server runs on.
readonly DEMO_ARCHS=(zen2 zen4)
readonly DEMO_DEFAULT_ARCH=zen4
readonly DEMO_CLUSTER_NAME=hpcdemo

log() {
    printf 'demo-site: %s\n' "$*" >&2
}

warn() {
    printf 'demo-site: warning: %s\n' "$*" >&2
}

die() {
    printf 'demo-site: error: %s\n' "$*" >&2
    exit 1
}

# set_site_dir DIR: make DIR absolute and check that it is safe to write into the generated files
# (slurm.conf, Lua, shell) without quoting trouble. Sets SITE_DIR.
set_site_dir() {
    local dir="$1"
    [[ -n "$dir" ]] || die "DIR is empty"
    dir="$(realpath -m -- "$dir")"
    if [[ ! "$dir" =~ ^[A-Za-z0-9_./+-]+$ ]]; then
        die "DIR must consist of letters, digits and _ . / + - only (it goes into slurm.conf and Lua): $dir"
    fi
    # Unix socket paths (munge's, and slurmstepd's in the spool folder) must stay below 108 bytes.
    if ((${#dir} > 70)); then
        die "DIR is too long (${#dir} > 70 characters) for the Unix sockets placed inside it: $dir"
    fi
    SITE_DIR="$dir"
}

make_layout() {
    mkdir -p "$SITE_DIR"/{modules,software,cache/wheels,site,data,scratch,home,slurm,munge}
    local arch
    for arch in "${DEMO_ARCHS[@]}"; do
        mkdir -p "$SITE_DIR/modules/$arch/all" "$SITE_DIR/software/$arch"
    done
}

# Debian package of each command the site needs.
ensure_system_packages() {
    local missing=()
    command -v munged >/dev/null || [[ -x /usr/sbin/munged ]] || missing+=(munge)
    command -v slurmctld >/dev/null || [[ -x /usr/sbin/slurmctld ]] || missing+=(slurm-wlm)
    command -v slurmd >/dev/null || [[ -x /usr/sbin/slurmd ]] || missing+=(slurm-wlm)
    lmod_init_file >/dev/null || missing+=(lmod)
    ((${#missing[@]} == 0)) && return 0
    # shellcheck disable=SC2207  # package names have no spaces
    missing=($(printf '%s\n' "${missing[@]}" | sort -u))
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "missing system packages: ${missing[*]} (install them as root: apt-get install -y ${missing[*]})"
    fi
    log "installing ${missing[*]} with apt-get"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

# Lmod: the folder of its installation, found at run time (Debian puts it in /usr/share/lmod/lmod).
lmod_pkg_dir() {
    local candidate
    for candidate in "${LMOD_PKG:-}" /usr/share/lmod/lmod /opt/apps/lmod/lmod /usr/local/lmod/lmod; do
        [[ -n "$candidate" && -f "$candidate/init/bash" && -x "$candidate/libexec/lmod" ]] || continue
        realpath -- "$candidate"
        return 0
    done
    if command -v dpkg >/dev/null; then
        candidate="$(dpkg -L lmod 2>/dev/null | grep -m1 '/init/bash$' || true)"
        if [[ -n "$candidate" ]]; then
            dirname -- "$(dirname -- "$candidate")"
            return 0
        fi
    fi
    return 1
}

lmod_init_file() {
    local pkg
    pkg="$(lmod_pkg_dir)" || return 1
    printf '%s\n' "$pkg/init/bash"
}

# A system daemon's path: PATH first, then the sbin folders (root's PATH has them, others' may not).
daemon_path() {
    local name="$1" dir
    if command -v "$name" >/dev/null; then
        command -v "$name"
        return 0
    fi
    for dir in /usr/sbin /sbin /usr/local/sbin; do
        if [[ -x "$dir/$name" ]]; then
            printf '%s\n' "$dir/$name"
            return 0
        fi
    done
    die "$name not found (is its Debian package installed?)"
}

# pid_of_daemon NAME PIDFILE MARKER: print the pid in PIDFILE when that process is alive, is the program
# NAME and has MARKER (a path inside the site folder) on its command line; fail otherwise. This is how
# stop and status make sure they only ever touch this site's own daemons.
pid_of_daemon() {
    local name="$1" pidfile="$2" marker="$3" pid argv0
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    local -a argv=()
    mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || return 1
    ((${#argv[@]} > 0)) || return 1
    argv0="${argv[0]##*/}"
    [[ "$argv0" == "$name" ]] || return 1
    local arg
    for arg in "${argv[@]}"; do
        if [[ "$arg" == *"$marker"* ]]; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

# pid_alive PID: the process exists and is not a zombie (a daemon's parent is init, which may take a
# second to reap it).
pid_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

# processes_with NAME TEXT: true when a live process NAME has TEXT on its command line (prints their pids).
processes_with() {
    local name="$1" marker="$2" dir found=1
    for dir in /proc/[0-9]*; do
        [[ "$(cat "$dir/comm" 2>/dev/null)" == "$name" ]] || continue
        pid_alive "${dir#/proc/}" || continue
        if tr '\0' '\n' 2>/dev/null <"$dir/cmdline" | grep -qF -- "$marker"; then
            printf '%s\n' "${dir#/proc/}"
            found=0
        fi
    done
    return "$found"
}

# stop_pid NAME PID: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
    local name="$1" pid="$2" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do
        pid_alive "$pid" || {
            log "stopped $name (pid $pid)"
            return 0
        }
        sleep 0.05
    done
    warn "$name (pid $pid) ignored SIGTERM for 10 s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
}

# tcp_port_listening PORT: true when something listens on PORT (IPv4 or IPv6, any address).
tcp_port_listening() {
    local port="$1" hex
    hex="$(printf '%04X' "$port")"
    # /proc/net/tcp{,6}: field 2 is local_address:port in hex, field 4 the state (0A = LISTEN).
    awk -v hex="$hex" 'FNR > 1 { split($2, a, ":"); if (a[length(a)] == hex && $4 == "0A") found = 1 }
        END { exit found ? 0 : 1 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# tail_file FILE: the last lines of a log, for error messages.
tail_file() {
    local file="$1"
    if [[ -s "$file" ]]; then
        printf -- '--- last lines of %s ---\n' "$file" >&2
        tail -n 15 -- "$file" >&2
    else
        printf -- '--- %s is empty or missing ---\n' "$file" >&2
    fi
}
