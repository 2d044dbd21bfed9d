#!/bin/bash
# Network benchmark: Conduit's storage SCP and SCU against DCMTK 3.6.7 storescp / storescu, in the
# same run, on the same corpus, on 127.0.0.1. Not a test: run by hand (docs/benchmarks.md, "Network"):
#
#   bash bench/network.sh                 # builds (npx tsc -p .), generates the corpus if missing
#   RUNS=5 CELLS=receive bash bench/network.sh
#
# Cells (each contender once per round, the contenders interleaved, their order rotated from round
# to round; RUNS rounds; median and min-max over the rounds):
#   receive  storescu (TCP_NODELAY=1, one association, the 2,000 CT files given as arguments) into
#            each receiver, which writes the files to an empty folder: storescp (plain, default
#            mode: no fsync), conduit listen (fsync every file, the default), conduit listen with
#            fsync off, and as fairness rows storescp -pdu 131072 and storescp +B (bit-preserving);
#            optional floor row storescp-ignore (RECEIVERS=...,storescp-ignore): storescp --ignore
#            receives every byte and answers but writes nothing, so its rate is what any receiver
#            could reach with storescu as the sender and no disk at all;
#            diagnostic row conduit-oldspace: conduit listen (fsync) under node
#            --initial-old-space-size=128 (see docs/benchmarks.md: the V8 major GCs; not a shipped setting).
#            Time = storescu's whole process (start to exit, after the last C-STORE-RSP and the release);
#            also the receiver's CPU time (user + system, /proc/PID/stat) over the run: steadier than
#            the wall time on a shared machine.
#   disk     the disk's own limit, in the output folder's file system (bench/net/disk-probe.mjs):
#            300 CT-sized files written one after the other durably as conduit listen does (temporary
#            name, fdatasync, rename, folder fsync), with fsync only, and without sync (as storescp).
#   parallel PARALLEL (4) storescu processes at once, each with every PARALLEL-th file, into
#            storescp --fork (no fsync; a child per association), conduit listen (fsync) and conduit
#            listen --no-fsync: several associations, whose fsyncs overlap. Time = until the last exits.
#   send     each sender, one association, the 2,000 CT files, into a plain storescp writing files
#            (and, as a second row, into storescp --ignore: the receiver's disk taken out):
#            storescu vs conduit store (and the diagnostic conduit-oldspace, as above). Time = the
#            sender's whole process; also its CPU time (GNU time user + system).
#   memory   peak RSS with the 200 MiB multiframe MF0_400frames.dcm. Receiving: the listener's
#            VmHWM (/proc/PID/status) once started and idle, then after storescu sent it; growth =
#            after - idle (conduit listen; storescp and storescp +B for reference). Sending: GNU time's
#            maximum RSS of the sender sending it into storescp --ignore, minus the same for one
#            526 KB CT file (conduit store; storescu for reference). And the floor of plain Node
#            moving the same file over a socket (bench/net/node-floor.mjs: 'data' events vs a static
#            onread buffer when receiving; a 1 MiB fs stream vs two reused buffers when sending).
# Every timed run starts with an empty output folder and a `sync` (untimed); every server is a fresh
# process on its own port (PORT_BASE..PORT_BASE+9), stopped by its PID (a trap stops them on exit).
# Each run is checked: 2,000 files in the output folder (or the sender's count), the sender's exit status.
#
# Conduit is driven through the CLI (`conduit listen --port N --out DIR`, `conduit store HOST PORT
# FILE...`) when dist/ holds those commands, else through bench/net/listen.mjs and bench/net/store.mjs
# (the same public API: DicomServer + writeReceivedObject, connect + client.store). CONDUIT_VIA=cli|lib
# forces one; the summary says which was measured. "fsync off": the CLI's --no-fsync if it has one,
# else bench/net/listen.mjs --no-fsync (labelled so).
#
# Environment: RUNS (3), CELLS (disk,receive,parallel,send,memory), CORPUS (/tmp/corpus), PORT_BASE (14600),
# WORK (/tmp/conduit-bench-work; each run leaves results.tsv, logs and summary.md in a dated folder),
# RECEIVERS (storescp,conduit,conduit-nofsync,storescp-pdu128k,storescp-bitpreserving,conduit-oldspace),
# SENDERS (storescu,conduit,conduit-oldspace), SEND_TARGETS (files,ignore), PARALLEL (4),
# PARALLEL_RECEIVERS (storescp-fork,conduit,conduit-nofsync), CONDUIT_VIA (auto|cli|lib),
# BASE_ROOT: another checkout of Conduit, built (e.g. main in a detached worktree); the sender
# conduit-base (SENDERS=storescu,conduit,conduit-base) runs its `conduit store`, for a before/after in one run.
# PROFILE=1: run the Conduit processes once more under node --cpu-prof (profiles in the run folder).
# CYCLES=1: the send cell's rounds captured on the loopback interface (bench/net/cycles.py; root):
#   each sender gets a storescp of its own per target (ports PORT_BASE+10..PORT_BASE+19) so that the
#   capture tells them apart, and the run prints, per sender and target, the median per connection
#   of its turn (C-STORE-RSP -> its next C-STORE-RQ's first byte), write, storescp's time after the
#   last byte, and cycle (also in cycles.txt). The capture's parsing costs CPU per segment, and a
#   sender that writes PDU by PDU (storescu) makes more segments than one that writes a message at
#   once: read the steps, not the rates, of such a run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS="${RUNS:-3}"
CELLS="${CELLS:-disk,receive,parallel,send,memory}"
CORPUS="${CORPUS:-/tmp/corpus}"
PORT_BASE="${PORT_BASE:-14600}"
RECEIVERS="${RECEIVERS:-storescp,conduit,conduit-nofsync,storescp-pdu128k,storescp-bitpreserving,conduit-oldspace}"
SENDERS="${SENDERS:-storescu,conduit,conduit-oldspace}"
SEND_TARGETS="${SEND_TARGETS:-files,ignore}"
PARALLEL="${PARALLEL:-4}"   # storescu processes at once in the parallel cell (each sends its share of the files)
PARALLEL_RECEIVERS="${PARALLEL_RECEIVERS:-storescp-fork,conduit,conduit-nofsync}"
CONDUIT_VIA="${CONDUIT_VIA:-auto}"
PROFILE="${PROFILE:-0}"
CYCLES="${CYCLES:-0}"
RUN_DIR="${WORK:-/tmp/conduit-bench-work}/network-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN_DIR"
RESULTS="$RUN_DIR/results.tsv"
: >"$RESULTS"
MF="$CORPUS/large/MF0_400frames.dcm"
export TCP_NODELAY=1   # DCMTK leaves Nagle on otherwise (~40 ms per C-STORE round trip)
# This workplace sets NODE_EXTRA_CA_CERTS (the system's 144 certificates), which Node 20 parses at
# every start, TLS or not: ~50 ms before `conduit store` runs any of its code (docs/benchmarks.md,
# "sendstart"). A stock Debian machine has no such variable and DCMTK never reads it, so the run
# drops it for every process alike; KEEP_NODE_EXTRA_CA_CERTS=1 keeps it.
if [ "${KEEP_NODE_EXTRA_CA_CERTS:-0}" != 1 ] && [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  echo "network.sh: NODE_EXTRA_CA_CERTS unset for this run (KEEP_NODE_EXTRA_CA_CERTS=1 keeps it)" >&2
  unset NODE_EXTRA_CA_CERTS
fi

source "$HERE/lib.sh"

# ---------- set-up ----------
if has "$SENDERS" conduit-base; then [ -f "${BASE_ROOT:-}/bin/conduit" ] || die "the sender conduit-base needs BASE_ROOT (a built checkout of Conduit)"; fi
command -v storescu >/dev/null && command -v storescp >/dev/null || die "DCMTK storescu/storescp not found (apt-get install dcmtk)"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) not found (apt-get install time)"
(cd "$ROOT" && npx tsc -p . >"$RUN_DIR/tsc.log" 2>&1) || log "warning: tsc reported errors (see $RUN_DIR/tsc.log); benchmarking the dist it emitted anyway"
# the CLI bundle bin/conduit runs (tools/bundle-cli.mjs; without esbuild the CLI runs unbundled)
(cd "$ROOT" && node tools/bundle-cli.mjs >>"$RUN_DIR/tsc.log" 2>&1) || log "warning: bundling the CLI failed (see $RUN_DIR/tsc.log); conduit runs unbundled"
if [ ! -f "$MF" ] || [ "$(find "$CORPUS/ct" -name '*.dcm' 2>/dev/null | wc -l)" -lt 2000 ]; then
  avail=$(df -Pk "$(dirname "$CORPUS")" | awk 'NR==2 {print $4}')
  [ "$avail" -ge $((3 * 1024 * 1024)) ] || die "less than 3 GiB free for the corpus (~1.4 GB) in $(dirname "$CORPUS")"
  /usr/bin/python3 "$HERE/gen-corpus.py" "$CORPUS"
fi
find "$CORPUS/ct" -type f -name '*.dcm' | sort >"$RUN_DIR/ct.lst"
mapfile -t CT_FILES <"$RUN_DIR/ct.lst"
N_CT=${#CT_FILES[@]}
B_CT=$(xargs -a "$RUN_DIR/ct.lst" -d '\n' stat -c %s | awk '{s+=$1} END {printf "%d", s}')
ONE_CT=${CT_FILES[0]}
# output folders on the same file system as the corpus' parent unless OUT_ROOT says otherwise
OUT_ROOT="${OUT_ROOT:-$RUN_DIR/out}"
mkdir -p "$OUT_ROOT"

# How Conduit is driven: the CLI when it has listen and store, else the bench/net scripts.
cli_ok=0
if [ -f "$ROOT/dist/src/cli/commands/listen.js" ] && [ -f "$ROOT/dist/src/cli/commands/store.js" ] \
  && node "$ROOT/bin/conduit" listen --help >/dev/null 2>&1 && node "$ROOT/bin/conduit" store --help >/dev/null 2>&1; then cli_ok=1; fi
case "$CONDUIT_VIA" in
  auto) VIA=$([ $cli_ok = 1 ] && echo cli || echo lib) ;;
  cli) [ $cli_ok = 1 ] || die "CONDUIT_VIA=cli but dist/ has no working 'conduit listen' and 'conduit store'"; VIA=cli ;;
  lib) VIA=lib ;;
  *) die "CONDUIT_VIA must be auto, cli or lib" ;;
esac
CLI_NOFSYNC=""
if [ "$VIA" = cli ]; then
  help=$(node "$ROOT/bin/conduit" listen --help 2>&1 || true)
  if grep -q -- '--no-fsync' <<<"$help"; then CLI_NOFSYNC="--no-fsync"; fi
fi
log "Conduit driven via: $VIA$([ "$VIA" = cli ] && echo " (fsync off: ${CLI_NOFSYNC:-not offered by the CLI, bench/net/listen.mjs --no-fsync used})")"

# NODE_PRE: extra node options (e.g. --cpu-prof) for the Conduit processes
NODE_PRE=()
# the diagnostic rows: a larger initial old generation, so that the ArrayBuffers allocated per byte
# received or sent no longer trigger a V8 mark-compact every ~10 MB
OLDSPACE=(--initial-old-space-size=128)
conduit_listen_cmd() {  # conduit_listen_cmd PORT OUT fsync|nofsync -> sets CMD array
  local port=$1 out=$2 mode=$3
  if [ "$VIA" = cli ] && { [ "$mode" = fsync ] || [ -n "$CLI_NOFSYNC" ]; }; then
    CMD=(node "${NODE_PRE[@]}" "$ROOT/bin/conduit" listen --port "$port" --out "$out")
    [ "$mode" = nofsync ] && CMD+=("$CLI_NOFSYNC")
  else
    CMD=(node "${NODE_PRE[@]}" "$HERE/net/listen.mjs" --port "$port" --out "$out")
    [ "$mode" = nofsync ] && CMD+=(--no-fsync)
  fi
  return 0
}
conduit_store_cmd() {  # conduit_store_cmd PORT FILE... -> sets CMD array (STORE_ROOT: another tree's CLI)
  local port=$1; shift
  if [ -n "${STORE_ROOT:-}" ]; then CMD=(node "${NODE_PRE[@]}" "$STORE_ROOT/bin/conduit" store 127.0.0.1 "$port" "$@")
  elif [ "$VIA" = cli ]; then CMD=(node "${NODE_PRE[@]}" "$ROOT/bin/conduit" store 127.0.0.1 "$port" "$@")
  else CMD=(node "${NODE_PRE[@]}" "$HERE/net/store.mjs" 127.0.0.1 "$port" "$@"); fi
}
nofsync_label() { if [ "$VIA" = cli ] && [ -z "$CLI_NOFSYNC" ]; then echo "conduit listen, fsync off (bench/net/listen.mjs)"; else echo "conduit listen, fsync off"; fi; }

# ---------- servers ----------
# receiver NAME PORT OUT -> starts it (fresh process), sets SERVER_PID and AEC (the called AE title)
receiver() {
  local name=$1 port=$2 out=$3 logf="$RUN_DIR/logs/$1.$2.log"
  mkdir -p "$RUN_DIR/logs"
  case $name in
    storescp) AEC=STORESCP; start_server "$port" "$logf" storescp -aet STORESCP -od "$out" "$port" ;;
    storescp-pdu128k) AEC=STORESCP; start_server "$port" "$logf" storescp -aet STORESCP -pdu 131072 -od "$out" "$port" ;;
    storescp-bitpreserving) AEC=STORESCP; start_server "$port" "$logf" storescp -aet STORESCP +B -od "$out" "$port" ;;
    storescp-ignore) AEC=STORESCP; start_server "$port" "$logf" storescp -aet STORESCP --ignore -od "$out" "$port" ;;
    storescp-fork) AEC=STORESCP; start_server "$port" "$logf" storescp -aet STORESCP --fork -od "$out" "$port" ;;
    conduit) AEC=CONDUIT; conduit_listen_cmd "$port" "$out" fsync; start_server "$port" "$logf" "${CMD[@]}" ;;
    conduit-nofsync) AEC=CONDUIT; conduit_listen_cmd "$port" "$out" nofsync; start_server "$port" "$logf" "${CMD[@]}" ;;
    conduit-oldspace) AEC=CONDUIT; NODE_PRE=("${OLDSPACE[@]}"); conduit_listen_cmd "$port" "$out" fsync; NODE_PRE=(); start_server "$port" "$logf" "${CMD[@]}" ;;
    *) die "unknown receiver $name" ;;
  esac
}
port_of() {  # a port per server kind, so that no run waits on a previous run's socket
  case $1 in
    storescp) echo $((PORT_BASE + 0)) ;; storescp-pdu128k) echo $((PORT_BASE + 1)) ;;
    storescp-bitpreserving) echo $((PORT_BASE + 2)) ;; storescp-ignore) echo $((PORT_BASE + 3)) ;;
    conduit) echo $((PORT_BASE + 4)) ;; conduit-nofsync) echo $((PORT_BASE + 5)) ;; conduit-oldspace) echo $((PORT_BASE + 6)) ;;
    storescp-fork) echo $((PORT_BASE + 9)) ;;
    *) echo $((PORT_BASE + 9)) ;;
  esac
}
fresh_out() { rm -rf "$1"; mkdir -p "$1"; sync; }
count_out() { find "$1" -maxdepth 1 -type f ! -name '.*' | wc -l; }
record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RESULTS"; }  # round cell contender value count bytes load [cpu_seconds]

# ---------- cells ----------
rotate() {  # rotate ROUND item... -> the items rotated left by ROUND-1
  local r=$1; shift; local a=("$@") n=$# i
  for ((i = 0; i < n; i++)); do echo "${a[$(((i + r - 1) % n))]}"; done
}

run_receive() {  # run_receive ROUND RECEIVER
  local r=$1 name=$2 port out t0 t1 rc n ld
  port=$(port_of "$name"); out="$OUT_ROOT/recv-$name"
  fresh_out "$out"
  receiver "$name" "$port" "$out"
  ld=$(load1)
  local c0 c1; c0=$(cpu_ticks "$SERVER_PID")
  t0=$(now_ns)
  rc=0; storescu -aec "$AEC" 127.0.0.1 "$port" "${CT_FILES[@]}" >"$RUN_DIR/logs/storescu-recv.log" 2>&1 || rc=$?
  t1=$(now_ns)
  c1=$(cpu_ticks "$SERVER_PID")
  stop_server
  n=$(count_out "$out")
  [ "$name" = storescp-ignore ] && n=$N_CT   # writes nothing; storescu's exit status is the check
  [ "$rc" = 0 ] && [ "$n" = "$N_CT" ] || die "receive $name round $r: storescu exit $rc, $n of $N_CT files written (logs in $RUN_DIR/logs)"
  record "$r receive $name $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}') $N_CT $B_CT $ld $(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b-a)/hz}')"
  log "receive round $r $name: $(awk -v a="$t0" -v b="$t1" -v n="$N_CT" 'BEGIN {printf "%.2f s, %.0f inst/s", (b-a)/1e9, n/((b-a)/1e9)}') (load $ld)"
  rm -rf "$out"
}

run_parallel() {  # run_parallel ROUND RECEIVER: PARALLEL storescu processes at once, each with its share of the files
  local r=$1 name=$2 port out t0 t1 rc n ld i pids=() c0 c1
  port=$(port_of "$name"); out="$OUT_ROOT/par-$name"
  fresh_out "$out"
  receiver "$name" "$port" "$out"
  ld=$(load1)
  c0=$(cpu_ticks "$SERVER_PID")
  t0=$(now_ns)
  for ((i = 0; i < PARALLEL; i++)); do
    storescu -aec "$AEC" 127.0.0.1 "$port" $(awk -v p="$PARALLEL" -v i="$i" 'NR % p == i' "$RUN_DIR/ct.lst") >"$RUN_DIR/logs/storescu-par-$i.log" 2>&1 &
    pids+=($!)
  done
  rc=0; for i in "${pids[@]}"; do wait "$i" || rc=$?; done
  t1=$(now_ns)
  # storescp --fork: the children's CPU is not in the parent's /proc stat; only Conduit's is shown
  c1=$(cpu_ticks "$SERVER_PID")
  stop_server
  n=$(count_out "$out")
  [ "$rc" = 0 ] && [ "$n" = "$N_CT" ] || die "parallel $name round $r: storescu exit $rc, $n of $N_CT files written (logs in $RUN_DIR/logs)"
  local cpu; cpu=$([ "$name" = storescp-fork ] && echo "" || awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b-a)/hz}')
  record "$r parallel $name $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}') $N_CT $B_CT $ld $cpu"
  log "parallel ($PARALLEL associations) round $r $name: $(awk -v a="$t0" -v b="$t1" -v n="$N_CT" 'BEGIN {printf "%.2f s, %.0f inst/s", (b-a)/1e9, n/((b-a)/1e9)}') (load $ld)"
  rm -rf "$out"
}

run_disk() {  # run_disk ROUND: the disk's own per-file limit, in the output folder's file system
  local r=$1 mode secs count
  rm -rf "$OUT_ROOT/disk"
  while read -r mode secs count; do
    record "$r disk $mode $secs $count $((count * 525870)) $(load1)"
    log "disk round $r $mode: $(awk -v s="$secs" -v n="$count" 'BEGIN {printf "%.0f files/s, %.2f ms per file", n/s, 1000*s/n}')"
  done < <(node "$HERE/net/disk-probe.mjs" "$OUT_ROOT/disk" 300)
  rm -rf "$OUT_ROOT/disk"
}

# CYCLES=1: the send cell's receiver port for a sender and target (its own, for the capture's labels).
send_port() {  # send_port TARGET SENDER
  local i
  for i in "${!SEND_LIST[@]}"; do
    if [ "${SEND_LIST[$i]}" = "$2" ]; then echo $((PORT_BASE + 10 + 2 * i + $([ "$1" = ignore ] && echo 1 || echo 0))); return; fi
  done
}

run_send() {  # run_send ROUND TARGET SENDER
  local r=$1 target=$2 name=$3 scp port out t0 t1 rc n ld
  scp=$([ "$target" = ignore ] && echo storescp-ignore || echo storescp)
  port=$(port_of "$scp"); out="$OUT_ROOT/send-$target"
  if [ "$CYCLES" = 1 ]; then port=$(send_port "$target" "$name"); fi
  fresh_out "$out"
  receiver "$scp" "$port" "$out"
  if [ "$name" = storescu ]; then CMD=(storescu -aec STORESCP 127.0.0.1 "$port" "${CT_FILES[@]}")
  elif [ "$name" = conduit-oldspace ]; then NODE_PRE=("${OLDSPACE[@]}"); conduit_store_cmd "$port" "${CT_FILES[@]}"; NODE_PRE=()
  elif [ "$name" = conduit-base ]; then STORE_ROOT="$BASE_ROOT" conduit_store_cmd "$port" "${CT_FILES[@]}"
  else conduit_store_cmd "$port" "${CT_FILES[@]}"; fi
  ld=$(load1)
  t0=$(now_ns)
  rc=0; /usr/bin/time -f '%U %S' -o "$RUN_DIR/cpu.tmp" "${CMD[@]}" >"$RUN_DIR/logs/send-$name.log" 2>&1 || rc=$?
  t1=$(now_ns)
  stop_server
  n=$(count_out "$out")
  [ "$target" = ignore ] && n=$N_CT   # storescp --ignore writes nothing; the sender's exit status is the check
  [ "$rc" = 0 ] && [ "$n" = "$N_CT" ] || die "send $target $name round $r: exit $rc, $n of $N_CT files written (logs in $RUN_DIR/logs)"
  record "$r send-$target $name $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}') $N_CT $B_CT $ld $(tail -n1 "$RUN_DIR/cpu.tmp" | awk '{printf "%.2f", $1 + $2}')"
  log "send ($target) round $r $name: $(awk -v a="$t0" -v b="$t1" -v n="$N_CT" 'BEGIN {printf "%.2f s, %.0f inst/s", (b-a)/1e9, n/((b-a)/1e9)}') (load $ld)"
  rm -rf "$out"
}

hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
run_memory_receive() {  # run_memory_receive ROUND RECEIVER: VmHWM idle and after one 200 MiB object
  local r=$1 name=$2 port out idle after rc
  port=$(port_of "$name"); out="$OUT_ROOT/mem-$name"
  fresh_out "$out"
  receiver "$name" "$port" "$out"
  sleep 0.5
  idle=$(hwm_kib "$SERVER_PID")
  rc=0; storescu -aec "$AEC" 127.0.0.1 "$port" "$MF" >"$RUN_DIR/logs/storescu-mem.log" 2>&1 || rc=$?
  after=$(hwm_kib "$SERVER_PID")
  stop_server
  [ "$rc" = 0 ] && [ "$(count_out "$out")" = 1 ] || die "memory receive $name round $r: storescu exit $rc"
  record "$r mem-recv-idle $name $idle 1 0 $(load1)"
  record "$r mem-recv $name $after 1 0 $(load1)"
  log "memory receive round $r $name: idle $((idle / 1024)) MiB, after the 200 MiB object $((after / 1024)) MiB"
  rm -rf "$out"
}
run_memory_send() {  # run_memory_send ROUND SENDER: GNU time max RSS sending one CT file, then MF0, into storescp --ignore
  local r=$1 name=$2 port f what rc kib
  port=$(port_of storescp-ignore)
  for what in one-ct mf0; do
    f=$([ $what = mf0 ] && echo "$MF" || echo "$ONE_CT")
    fresh_out "$OUT_ROOT/mem-send"
    receiver storescp-ignore "$port" "$OUT_ROOT/mem-send"
    if [ "$name" = storescu ]; then CMD=(storescu -aec STORESCP 127.0.0.1 "$port" "$f")
    else conduit_store_cmd "$port" "$f"; fi
    rc=0; /usr/bin/time -f %M -o "$RUN_DIR/time.tmp" "${CMD[@]}" >"$RUN_DIR/logs/mem-send-$name.log" 2>&1 || rc=$?
    stop_server
    [ "$rc" = 0 ] || die "memory send $name $what round $r: exit $rc (see $RUN_DIR/logs/mem-send-$name.log)"
    kib=$(tail -n1 "$RUN_DIR/time.tmp")
    record "$r mem-send-$what $name $kib 1 0 $(load1)"
    log "memory send round $r $name $what: peak RSS $((kib / 1024)) MiB"
  done
}

run_memory_floor() {  # run_memory_floor ROUND: plain Node moving the same file (bench/net/node-floor.mjs)
  local r=$1 m kib pd ps
  node "$HERE/net/node-floor.mjs" serve-discard $((PORT_BASE + 7)) & pd=$!; PIDS+=("$pd")
  node "$HERE/net/node-floor.mjs" serve-send $((PORT_BASE + 8)) "$MF" & ps=$!; PIDS+=("$ps")
  local i=0; until listening $((PORT_BASE + 7)) && listening $((PORT_BASE + 8)); do sleep 0.05; i=$((i + 1)); [ $i -lt 600 ] || die "node-floor peers did not start"; done
  for m in data onread; do
    kib=$(node "$HERE/net/node-floor.mjs" recv $((PORT_BASE + 8)) $m)
    record "$r mem-floor-recv-$m node $kib 1 0 $(load1)"
  done
  for m in stream reuse; do
    kib=$(node "$HERE/net/node-floor.mjs" send $((PORT_BASE + 7)) "$MF" $m)
    record "$r mem-floor-send-$m node $kib 1 0 $(load1)"
  done
  stop_pid "$pd"; stop_pid "$ps"
  log "memory floor round $r (plain Node): done"
}

# ---------- run ----------
log "corpus: $N_CT CT files, $B_CT bytes; RUNS=$RUNS CELLS=$CELLS; results in $RUN_DIR"
log "machine: $(nproc) CPU, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), $(storescu --version 2>&1 | head -1)"
IFS=, read -ra RECV_LIST <<<"$RECEIVERS"
IFS=, read -ra SEND_LIST <<<"$SENDERS"
IFS=, read -ra TARGET_LIST <<<"$SEND_TARGETS"
IFS=, read -ra PAR_LIST <<<"$PARALLEL_RECEIVERS"
SNIFFER=""
if [ "$CYCLES" = 1 ] && has "$CELLS" send; then
  ((${#SEND_LIST[@]} <= 5)) || die "CYCLES=1 gives the send cell ports for at most 5 senders"
  labels=()
  for name in "${SEND_LIST[@]}"; do
    for target in "${TARGET_LIST[@]}"; do labels+=("$(send_port "$target" "$name")=$name -> storescp ($target)"); done
  done
  setsid nice -n -10 /usr/bin/python3 "$HERE/net/cycles.py" $((PORT_BASE + 10)) $((PORT_BASE + 19)) "${labels[@]}" >"$RUN_DIR/cycles.txt" 2>&1 &
  SNIFFER=$!; PIDS+=("$SNIFFER"); sleep 1
fi
for ((r = 1; r <= RUNS; r++)); do
  if has "$CELLS" disk; then run_disk "$r"; fi
  if has "$CELLS" receive; then
    for name in $(rotate "$r" "${RECV_LIST[@]}"); do run_receive "$r" "$name"; done
  fi
  if has "$CELLS" parallel; then
    for name in $(rotate "$r" "${PAR_LIST[@]}"); do run_parallel "$r" "$name"; done
  fi
  if has "$CELLS" send; then
    for target in "${TARGET_LIST[@]}"; do
      for name in $(rotate "$r" "${SEND_LIST[@]}"); do run_send "$r" "$target" "$name"; done
    done
  fi
  if has "$CELLS" memory; then
    for name in $(rotate "$r" conduit storescp storescp-bitpreserving); do run_memory_receive "$r" "$name"; done
    for name in $(rotate "$r" conduit storescu); do run_memory_send "$r" "$name"; done
    run_memory_floor "$r"
  fi
done

if [ -n "$SNIFFER" ]; then
  kill "$SNIFFER"; while kill -0 "$SNIFFER" 2>/dev/null; do sleep 0.1; done
  log "per-cycle times (bench/net/cycles.py, $RUN_DIR/cycles.txt):"; sed -n '/^| sender/,$p' "$RUN_DIR/cycles.txt" >&2
fi

if [ "$PROFILE" = 1 ]; then
  # One more receive and send with the Conduit processes under the V8 CPU profiler (not counted).
  PROF_DIR="$RUN_DIR/profiles"; mkdir -p "$PROF_DIR/listen" "$PROF_DIR/store"
  NODE_PRE=(--cpu-prof --cpu-prof-interval 200 --cpu-prof-dir="$PROF_DIR/listen")
  out="$OUT_ROOT/prof-recv"; fresh_out "$out"; port=$(port_of conduit)
  receiver conduit "$port" "$out"
  storescu -aec CONDUIT 127.0.0.1 "$port" "${CT_FILES[@]}" >/dev/null 2>&1
  stop_server
  NODE_PRE=(--cpu-prof --cpu-prof-interval 200 --cpu-prof-dir="$PROF_DIR/store")
  out="$OUT_ROOT/prof-send"; fresh_out "$out"; port=$(port_of storescp)
  receiver storescp "$port" "$out"
  conduit_store_cmd "$port" "${CT_FILES[@]}"; "${CMD[@]}" >/dev/null 2>&1
  stop_server
  NODE_PRE=()
  for p in "$PROF_DIR"/listen/*.cpuprofile "$PROF_DIR"/store/*.cpuprofile; do
    [ -f "$p" ] || continue
    log "profile $p:"; node "$HERE/cpuprofile-top.mjs" "$p" 25 >&2 || true
  done
fi
rm -rf "$OUT_ROOT"

node "$HERE/net/summary.mjs" "$RESULTS" "$VIA" "$(nofsync_label)" | tee "$RUN_DIR/summary.md"
