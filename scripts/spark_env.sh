#!/usr/bin/env bash
# The Spark target's own venv: .venv-spark, from requirements-spark.txt (dbt-core + dbt-spark's
# `session` method + pyspark, whose wheel carries Spark's jars). Its pins differ from .venv's,
# hence a venv of its own. Spark 4 runs on Java 17 or later: if no `java` is found, Debian's
# openjdk-17-jre-headless is installed (apt-get, through sudo when not root).
#
#   scripts/spark_env.sh     make or refresh the venv if needed; print its path
#
# Idempotent: the venv is rebuilt only when requirements-spark.txt is newer than its stamp.
#
#   CD2_SPARK_VENV   where the venv lives (default <repo>/.venv-spark)
#   PYTHON           the interpreter that makes it (default python3)
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_dir="${CD2_SPARK_VENV:-$repo_dir/.venv-spark}"
requirements="$repo_dir/requirements-spark.txt"
stamp="$venv_dir/.installed-stamp"
python="${PYTHON:-python3}"
min_java=17
# Spark's launcher runs $JAVA_HOME/bin/java when JAVA_HOME is set, else the java on PATH.
java_cmd="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "spark_env: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo -n "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# The major version `java -version` reports: "17.0.15" -> 17, and "1.8.0_392" -> 8.
java_major() {
    local version
    version="$("$java_cmd" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    [[ -n "$version" ]] || return 1
    if [[ "$version" == 1.* ]]; then
        version="${version#1.}"
    fi
    echo "${version%%[.+-]*}"
}

ensure_java() {
    if [[ -n "${JAVA_HOME:-}" && ! -x "$java_cmd" ]]; then
        die "JAVA_HOME is $JAVA_HOME but it has no bin/java (unset it to use the java on PATH)"
    fi
    if ! command -v "$java_cmd" >/dev/null; then
        log "no java found: installing openjdk-17-jre-headless"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -qq </dev/null
        as_root apt-get install -y -qq openjdk-17-jre-headless </dev/null >&2
        command -v "$java_cmd" >/dev/null || die "apt-get installed openjdk-17-jre-headless but $java_cmd is not found"
    fi
    local major
    major="$(java_major)" || die "could not read the version from 'java -version': $("$java_cmd" -version 2>&1 | head -n 1)"
    if ((major < min_java)); then
        die "Spark 4 needs Java $min_java or later, but $java_cmd is Java $major ($(command -v "$java_cmd")); install openjdk-17-jre-headless and put it first on PATH (or set JAVA_HOME)"
    fi
}

ensure_venv() {
    if [[ -f "$stamp" && ! "$requirements" -nt "$stamp" && -x "$venv_dir/bin/dbt" ]]; then
        return
    fi
    log "installing $requirements into $venv_dir"
    "$python" -m venv "$venv_dir"
    "$venv_dir/bin/pip" install --quiet --upgrade pip >&2
    "$venv_dir/bin/pip" install --quiet -r "$requirements" >&2
    "$venv_dir/bin/python" -c 'import pyspark, dbt.adapters.spark' ||
        die "the venv in $venv_dir cannot import pyspark and dbt-spark"
    touch "$stamp"
}

ensure_java
ensure_venv
echo "$venv_dir"
