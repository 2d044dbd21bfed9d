# Shared by the bench/*.sh scripts (sourced, never run): logging, the processes a script starts
# (stopped on exit), waiting for a server's port, and the clocks the measurements read.
# A script may override start_server/stop_server after sourcing; LISTEN_TIMEOUT_S (default 30)
# bounds how long start_server waits for the port.

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "$*"; exit 1; }
has() { [[ ",$1," == *",$2,"* ]]; }
load1() { cut -d' ' -f1 /proc/loadavg; }
now_ns() { date +%s%N; }
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system CPU of a process (all its threads), in clock ticks

PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do stop_pid "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
stop_pid() {  # SIGTERM one process we started, wait for it (SIGKILL after 30 s)
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
SERVER_PID=""
start_server() {  # start_server PORT LOGFILE CMD... -> SERVER_PID, once PORT listens
  local port=$1 logf=$2; shift 2
  local limit=$(( ${LISTEN_TIMEOUT_S:-30} * 20 ))
  if listening "$port"; then die "port $port is already in use (set PORT_BASE)"; fi
  "$@" >"$logf" 2>&1 </dev/null &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  local i=0
  until listening "$port"; do
    sleep 0.05; i=$((i + 1))
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logf" >&2; die "server on port $port exited: $*"; }
    [ $i -lt $limit ] || die "server on port $port did not listen within ${LISTEN_TIMEOUT_S:-30} s: $*"
  done
}
stop_server() { stop_pid "$SERVER_PID"; SERVER_PID=""; }
