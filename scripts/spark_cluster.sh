#!/usr/bin/env bash
# A private Spark standalone cluster on this machine, for the Spark target's tests: one master and
# two workers (1 core each), separate JVMs started from the jars pyspark ships in .venv-spark
# (scripts/spark_env.sh makes it), all bound to 127.0.0.1 on free ports.
#
#   scripts/spark_cluster.sh start    start it (or reuse it if it is whole), wait until both
#                                     workers are registered; the last line printed is the
#                                     master URL (spark://127.0.0.1:PORT)
#   scripts/spark_cluster.sh status   print the master URL if it is running whole, else exit 3
#   scripts/spark_cluster.sh stop     stop every process of it (safe to run twice)
#
# pyspark's wheel has no sbin/start-master.sh: the daemons run as `bin/spark-class
# org.apache.spark.deploy.{master.Master,worker.Worker}`, each under setsid with its own log and
# pid file. A driver (dbt-spark's session method) reaches the cluster with spark.master set to the
# printed URL and spark.driver.host / spark.driver.bindAddress = 127.0.0.1.
#
#   CD2_SPARK_CLUSTER_DIR     logs, pid and port files, worker dirs (default <repo>/.cache/spark-cluster)
#   CD2_SPARK_VENV            the venv holding pyspark (default <repo>/.venv-spark)
#   CD2_SPARK_WORKER_MEMORY   memory each worker offers to executors (default 2g)
#   CD2_SPARK_DAEMON_MEMORY   heap of the master and worker JVMs themselves (default 512m)
#   CD2_SPARK_START_TIMEOUT   seconds `start` waits for the master and both workers (default 120)
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cluster_dir="${CD2_SPARK_CLUSTER_DIR:-$repo_dir/.cache/spark-cluster}"
venv_dir="${CD2_SPARK_VENV:-$repo_dir/.venv-spark}"
worker_memory="${CD2_SPARK_WORKER_MEMORY:-2g}"
daemon_memory="${CD2_SPARK_DAEMON_MEMORY:-512m}"
start_timeout="${CD2_SPARK_START_TIMEOUT:-120}"
workers=(worker1 worker2)
master_class="org.apache.spark.deploy.master.Master"
worker_class="org.apache.spark.deploy.worker.Worker"

log() { echo "spark_cluster: $*" >&2; }
die() { log "$*"; exit 1; }

spark_home() {
    [[ -x "$venv_dir/bin/python" ]] || die "no venv in $venv_dir (run: bash scripts/spark_env.sh)"
    local home
    home="$("$venv_dir/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')" ||
        die "pyspark is not installed in $venv_dir (run: bash scripts/spark_env.sh)"
    [[ -x "$home/bin/spark-class" && -d "$home/jars" ]] || die "$home has no bin/spark-class or jars/"
    echo "$home"
}

# N distinct free ports of 127.0.0.1 (all bound at once, so none is handed out twice).
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PY
}

# ---- processes -------------------------------------------------------------------------------
# A daemon NAME has $cluster_dir/NAME.pid and NAME.log. A pid counts only while /proc says it
# is still the java process of the class we started (pids are reused).
daemon_pid() {
    local name="$1" class="$2" pid
    [[ -f "$cluster_dir/$name.pid" ]] || return 1
    pid="$(cat "$cluster_dir/$name.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$class" || return 1
    echo "$pid"
}

class_of() {
    if [[ "$1" == master ]]; then echo "$master_class"; else echo "$worker_class"; fi
}

# Starts `spark-class CLASS ARGS...` in a session of its own (so it outlives this shell), logging
# to NAME.log; the pid written is the JVM's, since spark-class ends with exec java.
launch() {
    local name="$1"
    shift
    local logfile="$cluster_dir/$name.log" pidfile="$cluster_dir/$name.pid"
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # $$ and "$@" belong to the inner shell
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$home/bin/spark-class" "$@" \
        >"$logfile" 2>&1 </dev/null &
    local waited=0
    until [[ -s "$pidfile" ]]; do
        ((waited++ < 50)) || start_failed "$name did not start (see $logfile)"
        sleep 0.1
    done
}

# A failed start stops whatever it had started, then fails.
start_failed() {
    cmd_stop 2>/dev/null
    die "$*"
}

# Fails the start (with the log's tail) if a daemon we started has died.
check_alive() {
    local name
    for name in master "${workers[@]}"; do
        if ! daemon_pid "$name" "$(class_of "$name")" >/dev/null; then
            tail -n 30 "$cluster_dir/$name.log" >&2 || true
            start_failed "the $name process exited (log: $cluster_dir/$name.log)"
        fi
    done
}

# The master web UI's JSON: prints "<status> <number of ALIVE workers>", or fails if it is not up.
master_state() {
    python3 - "http://127.0.0.1:$(cat "$cluster_dir/master.webui-port")/json/" <<'PY'
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
try:
    with opener.open(sys.argv[1], timeout=5) as response:
        state = json.load(response)
except Exception:
    sys.exit(1)
alive = sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")
print(state.get("status", "?"), alive)
PY
}

master_url() {
    echo "spark://127.0.0.1:$(cat "$cluster_dir/master.port")"
}

# 0 if every daemon runs and the master reports both workers ALIVE.
is_whole() {
    local name state
    for name in master "${workers[@]}"; do
        daemon_pid "$name" "$(class_of "$name")" >/dev/null || return 1
    done
    state="$(master_state)" || return 1
    [[ "$state" == "ALIVE ${#workers[@]}" ]]
}

cmd_stop() {
    local name pid pids=()
    for name in "${workers[@]}" master; do
        if pid="$(daemon_pid "$name" "$(class_of "$name")")"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$cluster_dir/$name.pid"
    done
    if ((${#pids[@]} == 0)); then
        log "not running"
        return
    fi
    # A worker kills its executors on SIGTERM; anything still there after 20 s is killed.
    local waited=0
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
            if ((waited++ >= 200)); then
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
    done
    log "stopped"
}

cmd_start() {
    home="$(spark_home)"
    mkdir -p "$cluster_dir"
    if [[ -f "$cluster_dir/master.port" ]] && is_whole; then
        log "already running"
        master_url
        return
    fi
    cmd_stop 2>/dev/null

    export SPARK_HOME="$home"
    export SPARK_LOCAL_IP=127.0.0.1
    export SPARK_LOCAL_HOSTNAME=127.0.0.1
    export SPARK_MASTER_HOST=127.0.0.1
    export SPARK_DAEMON_MEMORY="$daemon_memory"
    # No REST submission server: it would listen on the fixed port 6066.
    export SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false"
    export SPARK_LOG_DIR="$cluster_dir"
    export SPARK_PID_DIR="$cluster_dir"
    # Executors run SQL in the JVM; a Python UDF would use the venv's interpreter.
    export PYSPARK_PYTHON="$venv_dir/bin/python"

    local ports master_port webui_port
    read -r -a ports <<<"$(free_ports $((2 + 2 * ${#workers[@]})))"
    master_port="${ports[0]}"
    webui_port="${ports[1]}"
    echo "$master_port" >"$cluster_dir/master.port"
    echo "$webui_port" >"$cluster_dir/master.webui-port"
    log "starting the master on 127.0.0.1:$master_port (web UI http://127.0.0.1:$webui_port)"
    launch master "$master_class" --host 127.0.0.1 --port "$master_port" --webui-port "$webui_port"

    local name i=2
    for name in "${workers[@]}"; do
        mkdir -p "$cluster_dir/$name-work"
        launch "$name" "$worker_class" --host 127.0.0.1 --port "${ports[i]}" \
            --webui-port "${ports[i + 1]}" --cores 1 --memory "$worker_memory" \
            --work-dir "$cluster_dir/$name-work" "$(master_url)"
        i=$((i + 2))
    done

    local deadline=$((SECONDS + start_timeout)) state=""
    while ((SECONDS < deadline)); do
        check_alive
        if state="$(master_state)" && [[ "$state" == "ALIVE ${#workers[@]}" ]]; then
            log "master and ${#workers[@]} workers up (logs in $cluster_dir)"
            master_url
            return
        fi
        sleep 0.5
    done
    start_failed "timed out after ${start_timeout}s waiting for the master and ${#workers[@]} registered workers (master's state and ALIVE workers: '${state:-web UI not answering}'; logs in $cluster_dir)"
}

cmd_status() {
    if [[ -f "$cluster_dir/master.port" ]] && is_whole; then
        log "running: ${#workers[@]} workers, web UI http://127.0.0.1:$(cat "$cluster_dir/master.webui-port")"
        master_url
    else
        log "not running (or not every process of it is up; \`start\` restarts it whole)"
        exit 3
    fi
}

home=""
case "${1:-}" in
    start) cmd_start ;;
    status) cmd_status ;;
    stop) cmd_stop ;;
    *) die "usage: $0 start|status|stop" ;;
esac
