#!/usr/bin/env bash
# Make sure a headless-capable Chromium is installed (Debian's `chromium` package) and print the
# path of its binary on stdout (progress goes to stderr). Used by the browser test of the dbt
# docs site (extract/tests/test_docs_site.py) and by `make services`.
#
#   CD2_CHROMIUM   a Chromium/Chrome binary to use instead (checked, never installed)
#
# Idempotent: when /usr/bin/chromium (or a chromium / google-chrome on PATH) answers --version,
# nothing is installed. Otherwise it runs `apt-get install -y chromium` (root, or sudo without a
# password), and fails with a clear message when that is impossible (no apt, not root, no
# package index, no network).
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }
fail() {
    log "ERROR: $*"
    log "install Chromium yourself (Debian/Ubuntu: apt-get install chromium) or set CD2_CHROMIUM=/path/to/chrome;"
    log "the docs-site browser test can be skipped with CD2_SKIP_BROWSER=1"
    exit 1
}

works() { [[ -x "$1" ]] && "$1" --version >/dev/null 2>&1; }

if [[ -n "${CD2_CHROMIUM:-}" ]]; then
    works "$CD2_CHROMIUM" || fail "CD2_CHROMIUM=$CD2_CHROMIUM is not a working Chromium binary"
    echo "$CD2_CHROMIUM"
    exit 0
fi

binary=/usr/bin/chromium
if works "$binary"; then
    echo "$binary"
    exit 0
fi
# A browser that is already there (GitHub's Ubuntu runners ship Chromium and Google Chrome;
# Ubuntu's own chromium package is a snap stub, hence no apt-get there when one is found).
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    found="$(command -v "$name" 2>/dev/null || true)"
    if [[ -n "$found" ]] && works "$found"; then
        echo "$found"
        exit 0
    fi
done

command -v apt-get >/dev/null 2>&1 || fail "$binary is missing and this system has no apt-get"
if [[ "$(id -u)" == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    fail "$binary is missing and installing it needs root (or password-less sudo)"
fi

# Several callers (pytest workers, CI steps) may get here at once: dpkg allows one at a time.
exec 9>/tmp/cd2-chromium-install.lock
flock 9
if ! works "$binary"; then
    export DEBIAN_FRONTEND=noninteractive
    log "installing Debian's chromium package (a few minutes the first time)"
    # A stale or empty package index is the usual reason for "Unable to locate package".
    "${as_root[@]}" apt-get update -qq >&2 || log "warning: apt-get update failed; trying the cached index"
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation >&2 \
        || fail "apt-get install chromium failed (see the apt output above)"
fi
works "$binary" || fail "$binary still does not run after installing the chromium package"
"$binary" --version >&2
echo "$binary"
