#!/usr/bin/env bash
# Prepare (idempotently) a private virtualenv holding Instructure's official DAP client and print
# the path of its `dap` executable on stdout (progress goes to stderr).
#
# The client pins versions that conflict with the project's own, so it never goes into .venv.
#
#   CD2_DAP_VENV          where the venv lives   (default: <repo>/.cache/dap-venv)
#   CD2_DAP_PYTHON        interpreter for it      (default: python3, the project's Python 3.11)
#   CD2_DAP_CLIENT_SPEC   what to install         (default: instructure-dap-client[postgresql]==2.3.1)
#
# A venv is reused when its marker file names the same spec and `dap --version` runs; anything
# else (half-finished install, other spec, moved interpreter) is wiped and rebuilt.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_dir="${CD2_DAP_VENV:-$repo_dir/.cache/dap-venv}"
python_bin="${CD2_DAP_PYTHON:-python3}"
# The client and the libraries that decide its HTTP and parsing behaviour are pinned, so that a
# new release of one of them cannot change the client under test.
client_spec="${CD2_DAP_CLIENT_SPEC:-instructure-dap-client[postgresql]==2.3.1 aiohttp==3.13.4 asyncpg==0.31.0 tsv2py==0.7.1}"
marker="$venv_dir/.cd2-dap-client-spec"
dap_bin="$venv_dir/bin/dap"

log() { echo "dap_client_env: $*" >&2; }

venv_is_healthy() {
    [[ -x "$dap_bin" && -f "$marker" ]] || return 1
    [[ "$(cat "$marker")" == "$client_spec" ]] || return 1
    "$dap_bin" --version >/dev/null 2>&1
}

# pip, with its chatter about this machine's unused local index folders filtered out of stderr.
quiet_pip() {
    "$venv_dir/bin/python" -m pip --quiet "$@" 2>&1 >&2 | { grep -v 'is ignored: it is neither a file nor a directory' || true; } >&2
}

build_venv() {
    log "creating $venv_dir with $client_spec"
    rm -rf "$venv_dir"
    mkdir -p "$(dirname "$venv_dir")"
    "$python_bin" -m venv "$venv_dir"
    quiet_pip install --upgrade pip
    # shellcheck disable=SC2086  # the spec is a list of requirements
    quiet_pip install $client_spec
    "$dap_bin" --version >&2
    printf '%s' "$client_spec" >"$marker"
}

lock_file="$(dirname "$venv_dir")/.$(basename "$venv_dir").lock"
mkdir -p "$(dirname "$venv_dir")"
exec 9>"$lock_file"
flock 9  # concurrent callers (pytest workers, CI steps) wait for one build

if ! venv_is_healthy; then
    build_venv
    venv_is_healthy || { log "the dap client venv at $venv_dir is still broken after a rebuild"; exit 1; }
fi
echo "$dap_bin"
