#!/bin/bash
# Retrieve benchmark: C-MOVE and C-GET of one 500-instance CT study from `conduit serve` and from
# Orthanc 1.10.1, in the same run, on the same corpus, on 127.0.0.1. Not a test: run by hand
# (docs/benchmarks.md, "Retrieve (C-MOVE / C-GET)"):
#
#   bash bench/retrieve.sh                # builds (npx tsc -p .), generates the corpus if missing
#   RUNS=7 CELLS=move bash bench/retrieve.sh
#
# The study is /tmp/corpus/ct/p1 (500 CT 512x512x16, ~526 KB each, Explicit VR Little Endian), as in
# the shared anchor script /work/shared/bench/m-cmove-cget-orthanc.sh. Both servers are loaded once
# with it (storescu, untimed; the files are then hot in the page cache for both) and stay up for the
# whole run; each holds it in its own archive folder under the run folder.
#
# Cells (after WARMUP untimed runs, as the anchor's hyperfine --warmup 1; each server once per round, the servers' order swapped from round to round; RUNS rounds;
# median and min-max over the rounds):
#   move  movescu -S (Study Root, STUDY level, the study's Study Instance UID) asking the server to
#         C-MOVE the study to a DCMTK storescp --fork (writing files to an empty folder, no fsync: its
#         default; a child process per association, so it serves several at once, as the shared
#         anchor starts it), started fresh for each run and known to both servers as STORESCP.
#         Orthanc runs with SynchronousCMove true (its default), so for both the final C-MOVE-RSP
#         comes after the last sub-operation. Conduit opens up to --move-associations associations
#         to the destination (MOVE_ASSOCIATIONS; its default 2), Orthanc one. The warm-up run's
#         storescp runs with -v, and the associations it received are counted and logged for each
#         server. Time = movescu's whole process.
#   get   getscu -S (same Identifier) writing the files into an empty folder. Time = getscu's whole process.
#   getc  the same C-GET with `conduit get -S --no-fsync` of this checkout as the requester and receiver
#         (not in the default CELLS): a second, faster client, so that the servers' share of a C-GET
#         is less diluted by the client's own time per object (getscu's file creation, its two reads
#         per PDU). --no-fsync, as getscu does not fsync either. Time = the conduit process's whole run.
#   push  the reference: storescu +sd +r (DCMTK) sending the study's files to a fresh storescp, once
#         per round: C++ at both ends, no archive, one C-STORE outstanding as in the retrieves above
#         (storescp and getscu grant no asynchronous operations window). Time = storescu's whole process.
#         Kept on one association (storescu opens one; storescp without --fork): it is the floor of
#         a one-association sender, which a C-MOVE over several associations can go below.
# Every run is checked: movescu/getscu exit status 0 and 500 files in the output folder. Every
# output folder is emptied and `sync`ed before a run (untimed). TCP_NODELAY=1 for every DCMTK tool and
# for Orthanc (whose DICOM server is DCMTK): without it each C-STORE waits ~40 ms for a delayed ACK.
# Also recorded per run: the CPU time of the receiver (storescp --fork with its children, or getscu)
# and of the requester (movescu/getscu), and the machine's idle time over all CPUs (/proc/stat):
# the summary's "CPU floor" is (server + receiver + requester CPU) / CPUs, the least time the
# retrieve could take on this machine with every CPU its own; idle near 0 means the CPUs were the
# limit (other processes included). The server's CPU time (user + system, /proc/PID/stat) and, for Conduit, the
# peak RSS of `conduit serve` during the retrieve (VmHWM, reset before each run through
# /proc/PID/clear_refs); for Orthanc its VmHWM (not reset: a process we did not build, the value
# is its peak since start, loading included).
#
# Orthanc's configuration is the shared anchor's (/work/shared/bench/lib.sh orthanc_config: SQLite + files, Debian
# defaults otherwise, MaximumPduLength 16384, 4 DICOM threads) on this script's ports, without the DICOMweb
# plugin (not used here).
# `conduit serve` runs with its defaults (SQLite index, files with fsync, 256 KiB PDUs, log level warn).
#
# Environment: RUNS (5), WARMUP (untimed warm-up runs of each server per cell first, 1), CELLS (move,get,push; getc only when named),
# SERVERS (conduit,orthanc; conduit1 adds a second `conduit serve --move-associations 1` (or
# CONDUIT1_MOVE_ASSOCIATIONS), on its own archive loaded alike, so that two numbers of associations are
# measured in the same run; conduit-base adds
# `conduit serve` of another built checkout, BASE_ROOT, on its own archive loaded alike, on port +4 (so not with
# conduit1), so that two builds are measured in the same rounds), CORPUS (/tmp/corpus),
# STUDY_DIR ($CORPUS/ct/p1), MOVE_ASSOCIATIONS (conduit serve --move-associations; unset: its default), PORT_BASE (14800: +0 Conduit DIMSE, +1 Orthanc DIMSE, +2 Orthanc HTTP,
# +3 storescp, +4 conduit1 or conduit-base DIMSE), WORK (/tmp/conduit-bench-work; each run leaves results.tsv, logs and summary.md in a
# dated folder), NODE_OPTIONS_SERVE (extra node options for conduit serve),
# CYCLES=1: the timed rounds captured on the loopback interface (bench/net/cycles.py, root): per
# C-STORE cycle the sender's turn (C-STORE-RSP -> first byte of the next C-STORE-RQ), its write and
# the receiver's time, median per connection, in cycles.txt and on stderr.
# PROFILE=1: one more C-MOVE and C-GET with `conduit serve` restarted under node --cpu-prof (profiles
# and their summary by bench/cpuprofile-top.mjs in the run folder; not counted).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS="${RUNS:-5}"
WARMUP="${WARMUP:-1}"
CELLS="${CELLS:-move,get,push}"
SERVERS="${SERVERS:-conduit,orthanc}"
CORPUS="${CORPUS:-/tmp/corpus}"
STUDY_DIR="${STUDY_DIR:-$CORPUS/ct/p1}"
PORT_BASE="${PORT_BASE:-14800}"
PROFILE="${PROFILE:-0}"
CYCLES="${CYCLES:-0}"
MOVE_ASSOCIATIONS="${MOVE_ASSOCIATIONS:-}"
read -ra NODE_OPTIONS_SERVE <<<"${NODE_OPTIONS_SERVE:-}"
RUN_DIR="${WORK:-/tmp/conduit-bench-work}/retrieve-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN_DIR/logs"
RESULTS="$RUN_DIR/results.tsv"
: >"$RESULTS"
export TCP_NODELAY=1   # DCMTK leaves Nagle on otherwise (~40 ms per C-STORE round trip)

CONDUIT_PORT=$PORT_BASE
ORTHANC_PORT=$((PORT_BASE + 1))
ORTHANC_HTTP=$((PORT_BASE + 2))
DEST_PORT=$((PORT_BASE + 3))
CONDUIT1_PORT=$((PORT_BASE + 4))

LISTEN_TIMEOUT_S=60
source "$HERE/lib.sh"

# ---------- set-up ----------
for t in storescu storescp movescu getscu dcmdump curl jq; do command -v $t >/dev/null || die "$t not found (apt-get install dcmtk curl jq)"; done
if has "$SERVERS" conduit-base; then
  [ -f "${BASE_ROOT:-}/bin/conduit" ] || die "the server conduit-base needs BASE_ROOT (a built checkout of Conduit)"
  has "$SERVERS" conduit1 && die "conduit1 and conduit-base both use port PORT_BASE+4: choose one"
fi
has "$SERVERS" orthanc && { [ -x /usr/sbin/Orthanc ] || die "/usr/sbin/Orthanc not found (apt-get install orthanc)"; }
(cd "$ROOT" && npx tsc -p . >"$RUN_DIR/tsc.log" 2>&1) || log "warning: tsc reported errors (see $RUN_DIR/tsc.log); benchmarking the dist it emitted anyway"
# the CLI bundle bin/conduit runs (tools/bundle-cli.mjs): after tsc alone it is stale and the CLI runs unbundled
(cd "$ROOT" && node tools/bundle-cli.mjs >>"$RUN_DIR/tsc.log" 2>&1) || log "warning: bundling the CLI failed (see $RUN_DIR/tsc.log); conduit runs unbundled"
if [ "$(find "$CORPUS/ct" -name '*.dcm' 2>/dev/null | wc -l)" -lt 2000 ]; then
  avail=$(df -Pk "$(dirname "$CORPUS")" | awk 'NR==2 {print $4}')
  [ "$avail" -ge $((3 * 1024 * 1024)) ] || die "less than 3 GiB free for the corpus (~1.4 GB) in $(dirname "$CORPUS")"
  /usr/bin/python3 "$HERE/gen-corpus.py" "$CORPUS"
fi
find "$STUDY_DIR" -type f -name '*.dcm' | sort >"$RUN_DIR/study.lst"
N=$(wc -l <"$RUN_DIR/study.lst")
B=$(xargs -a "$RUN_DIR/study.lst" -d '\n' stat -c %s | awk '{s+=$1} END {printf "%d", s}')
STUDY_UID=$(dcmdump -q +P 0020,000d "$(head -1 "$RUN_DIR/study.lst")" | sed 's/.*\[\(.*\)\].*/\1/')
[ "$(xargs -a "$RUN_DIR/study.lst" -d '\n' dcmdump -q +P 0020,000d | grep "^(0020,000d)" | sed 's/.*\[\(.*\)\].*/\1/' | sort -u | wc -l)" = 1 ] || die "$STUDY_DIR holds more than one study"

# ---------- processes ----------
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RESULTS"; }  # round cell server seconds count bytes load cpu_seconds hwm_kib [receiver_cpu client_cpu machine_idle_s]

start_conduit() {  # start_conduit DIR PORT [node options...] -> SERVER_PID (CONDUIT_ROOT: the checkout; $ROOT)
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  start_server "$port" "$RUN_DIR/logs/conduit-$port.log" node "$@" "${NODE_OPTIONS_SERVE[@]}" "${CONDUIT_ROOT:-$ROOT}/bin/conduit" serve \
    --aet CONDUIT --dimse-port "$port" --http-port 0 --host 127.0.0.1 --data "$dir" --log-level warn \
    --peer "dest=STORESCP@127.0.0.1:$DEST_PORT" ${MOVE_ASSOCIATIONS:+--move-associations "$MOVE_ASSOCIATIONS"}
}

orthanc_config() {  # the shared anchor's configuration (/work/shared/bench/lib.sh), on this script's ports
  local d=$1; mkdir -p "$d/db"
  cat >"$d/orthanc.json" <<EOF
{
  "Name": "BENCH",
  "StorageDirectory": "$d/db",
  "IndexDirectory": "$d/db",
  "StorageCompression": false,
  "Plugins": [],
  "HttpServerEnabled": true, "HttpPort": $ORTHANC_HTTP, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "HttpCompressionEnabled": true,
  "DicomServerEnabled": true, "DicomAet": "ORTHANC", "DicomPort": $ORTHANC_PORT,
  "DicomCheckCalledAet": false,
  "DicomAlwaysAllowEcho": true, "DicomAlwaysAllowStore": true, "DicomAlwaysAllowFind": true,
  "DicomAlwaysAllowGet": true, "DicomAlwaysAllowMove": true,
  "UnknownSopClassAccepted": false,
  "DicomModalities": { "STORESCP": [ "STORESCP", "127.0.0.1", $DEST_PORT ] },
  "DicomThreadsCount": 4, "HttpThreadsCount": 50, "ConcurrentJobs": 2,
  "SyncStorageArea": true, "StoreMD5ForAttachments": true, "OverwriteInstances": false,
  "StorageAccessOnFind": "Always", "MaximumPduLength": 16384, "SaveJobs": false,
  "SynchronousCMove": true
}
EOF
}

load_study() {  # load_study PORT AET
  storescu -aec "$2" 127.0.0.1 "$1" $(cat "$RUN_DIR/study.lst") >"$RUN_DIR/logs/load-$2.log" 2>&1 || die "loading the study into $2 failed (see $RUN_DIR/logs/load-$2.log)"
}

# ---------- servers, loaded ----------
declare -A PID_OF AET_OF PORT_OF
if has "$SERVERS" conduit; then
  start_conduit "$RUN_DIR/conduit-data" "$CONDUIT_PORT"
  PID_OF[conduit]=$SERVER_PID; AET_OF[conduit]=CONDUIT; PORT_OF[conduit]=$CONDUIT_PORT
  log "loading the study into conduit serve (pid $SERVER_PID)"; load_study "$CONDUIT_PORT" CONDUIT
fi
if has "$SERVERS" conduit1; then
  MOVE_ASSOCIATIONS="${CONDUIT1_MOVE_ASSOCIATIONS:-1}" start_conduit "$RUN_DIR/conduit1-data" "$CONDUIT1_PORT"
  PID_OF[conduit1]=$SERVER_PID; AET_OF[conduit1]=CONDUIT; PORT_OF[conduit1]=$CONDUIT1_PORT
  log "loading the study into conduit serve --move-associations ${CONDUIT1_MOVE_ASSOCIATIONS:-1} (pid $SERVER_PID)"; load_study "$CONDUIT1_PORT" CONDUIT
fi
if has "$SERVERS" conduit-base; then
  CONDUIT_ROOT="$BASE_ROOT" start_conduit "$RUN_DIR/conduit-base-data" "$CONDUIT1_PORT"
  PID_OF[conduit-base]=$SERVER_PID; AET_OF[conduit-base]=CONDUIT; PORT_OF[conduit-base]=$CONDUIT1_PORT
  log "loading the study into conduit serve of $BASE_ROOT ($(git -C "$BASE_ROOT" log --oneline -1 2>/dev/null | cut -c1-60), pid $SERVER_PID)"; load_study "$CONDUIT1_PORT" CONDUIT
fi
if has "$SERVERS" orthanc; then
  orthanc_config "$RUN_DIR/orthanc"
  if listening "$ORTHANC_HTTP"; then die "port $ORTHANC_HTTP is already in use (set PORT_BASE)"; fi
  start_server "$ORTHANC_PORT" "$RUN_DIR/logs/orthanc.log" /usr/sbin/Orthanc "$RUN_DIR/orthanc/orthanc.json"
  PID_OF[orthanc]=$SERVER_PID; AET_OF[orthanc]=ORTHANC; PORT_OF[orthanc]=$ORTHANC_PORT
  log "loading the study into Orthanc (pid $SERVER_PID)"; load_study "$ORTHANC_PORT" ORTHANC
  n=$(curl -sf "http://127.0.0.1:$ORTHANC_HTTP/statistics" | jq .CountInstances)
  [ "$n" = "$N" ] || die "Orthanc holds $n instances, not $N"
fi

fresh_out() { rm -rf "$1"; mkdir -p "$1"; sync; }
idle_ticks() { awk '/^cpu / {print $5 + $6}' /proc/stat; }  # the machine's idle + iowait time, all CPUs
dest_cpu() {  # CPU seconds of a storescp --fork and its children, once it has reaped them (up to 3 s)
  local i
  for i in $(seq 1 60); do [ -z "$(ps -o pid= --ppid "$1")" ] && break; sleep 0.05; done
  # Children not reaped by then (zombie or still running) are counted by their own times.
  cat "/proc/$1/stat" $(ps -o pid= --ppid "$1" | awk '{print "/proc/" $1 "/stat"}') 2>/dev/null |
    awk -v hz="$CLK_TCK" 'NR == 1 {t = $14 + $15 + $16 + $17; next} {t += $14 + $15} END {printf "%.2f", t / hz}'
}
count_out() { find "$1" -maxdepth 1 -type f ! -name '.*' | wc -l; }
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

run_cell() {  # run_cell ROUND move|get SERVER
  local r=$1 cell=$2 name=$3 pid=${PID_OF[$3]} out="$RUN_DIR/out" t0 t1 rc n ld c0 c1 dest="" hwm
  fresh_out "$out"
  if [ "$cell" = move ]; then
    # -v (a few lines per C-STORE) only in the warm-up, to count the associations.
    local verbose=(); [ "$r" = warmup ] && verbose=(-v)
    start_server "$DEST_PORT" "$RUN_DIR/logs/storescp-$name.log" storescp "${verbose[@]}" --fork -aet STORESCP -od "$out" "$DEST_PORT"; dest=$SERVER_PID
    CMD=(movescu -S -aec "${AET_OF[$name]}" -aem STORESCP -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$STUDY_UID" 127.0.0.1 "${PORT_OF[$name]}")
  elif [ "$cell" = getc ]; then
    CMD=(node "$ROOT/bin/conduit" get -S --no-fsync --aec "${AET_OF[$name]}" --out "$out" -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$STUDY_UID" 127.0.0.1 "${PORT_OF[$name]}")
  else
    CMD=(getscu -S -aec "${AET_OF[$name]}" -od "$out" -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$STUDY_UID" 127.0.0.1 "${PORT_OF[$name]}")
  fi
  [ "$name" = conduit ] && reset_hwm "$pid"
  ld=$(load1); c0=$(cpu_ticks "$pid"); i0=$(idle_ticks)
  t0=$(now_ns)
  rc=0; /usr/bin/time -f '%U %S' -o "$RUN_DIR/client.cpu" "${CMD[@]}" >"$RUN_DIR/logs/$cell-$name.log" 2>&1 || rc=$?
  t1=$(now_ns)
  c1=$(cpu_ticks "$pid"); hwm=$(hwm_kib "$pid"); i1=$(idle_ticks)
  local peer=NaN client
  client=$(tail -1 "$RUN_DIR/client.cpu" | awk '{printf "%.2f", $1 + $2}')
  [ "$cell" != move ] && peer=$client  # getscu (conduit get) is both the requester and the receiver
  if [ -n "$dest" ]; then peer=$(dest_cpu "$dest"); stop_pid "$dest"; fi
  n=$(count_out "$out")
  [ "$rc" = 0 ] && [ "$n" = "$N" ] || die "$cell $name round $r: exit $rc, $n of $N files received (logs in $RUN_DIR/logs)"
  [ "$cell" = move ] && [ "$r" = warmup ] && log "move warm-up $name: storescp received $(grep -c 'Association Received' "$RUN_DIR/logs/storescp-$name.log") association(s)"
  record "$r $cell $name $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}') $N $B $ld $(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b-a)/hz}') $hwm $peer $client $(awk -v a="$i0" -v b="$i1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b-a)/hz}')"
  log "$cell round $r $name: $(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "%.2f s, %.0f inst/s", (b-a)/1e9, n/((b-a)/1e9)}') (load $ld, peak RSS $((hwm / 1024)) MiB)"
  rm -rf "$out"
}

# The reference for a window-1 sender: DCMTK storescu pushing the same files to a fresh storescp
# (C++ at both ends, no archive, one C-STORE outstanding as in the retrieves). A C-MOVE to storescp
# cannot take less than the receiver's share of this.
run_push() {  # run_push ROUND
  local r=$1 out="$RUN_DIR/out" t0 t1 rc n ld dest
  fresh_out "$out"
  start_server "$DEST_PORT" "$RUN_DIR/logs/storescp.log" storescp -aet STORESCP -od "$out" "$DEST_PORT"; dest=$SERVER_PID
  ld=$(load1)
  t0=$(now_ns)
  rc=0; storescu -aec STORESCP +sd +r 127.0.0.1 "$DEST_PORT" "$STUDY_DIR" >"$RUN_DIR/logs/push.log" 2>&1 || rc=$?
  t1=$(now_ns)
  stop_pid "$dest"
  n=$(count_out "$out")
  [ "$rc" = 0 ] && [ "$n" = "$N" ] || die "push round $r: exit $rc, $n of $N files received (logs in $RUN_DIR/logs)"
  record "$r push storescu $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}') $N $B $ld NaN 0"
  log "push round $r storescu: $(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "%.2f s, %.0f inst/s", (b-a)/1e9, n/((b-a)/1e9)}') (load $ld)"
  rm -rf "$out"
}

# ---------- run ----------
log "study: $N instances, $B bytes, $STUDY_UID; RUNS=$RUNS CELLS=$CELLS SERVERS=$SERVERS; results in $RUN_DIR"
log "machine: $(nproc) CPU, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), $(movescu --version 2>&1 | head -1), Orthanc $(/usr/sbin/Orthanc --version 2>/dev/null | head -1 | awk '{print $NF}')"
IFS=, read -ra SERVER_LIST <<<"$SERVERS"
IFS=, read -ra CELL_LIST <<<"$CELLS"
# Untimed warm-up runs, as the shared anchor's hyperfine --warmup 1: each server once per cell
# (for Conduit the first C-STOREs it sends also compile its send path).
for ((w = 1; w <= WARMUP; w++)); do
  for cell in "${CELL_LIST[@]}"; do [ "$cell" = push ] && continue; for name in "${SERVER_LIST[@]}"; do run_cell warmup "$cell" "$name"; done; done
done
sed -i '/^warmup\t/d' "$RESULTS"
SNIFFER=""
if [ "$CYCLES" = 1 ]; then
  # Per-cycle times of the timed rounds from a loopback capture (bench/net/cycles.py; needs root).
  setsid nice -n -10 /usr/bin/python3 "$HERE/net/cycles.py" "$PORT_BASE" "$DEST_PORT" "$CONDUIT_PORT=conduit serve -> getscu" \
    "$ORTHANC_PORT=Orthanc -> getscu" "$DEST_PORT=-> storescp (push: storescu; move: the server)" >"$RUN_DIR/cycles.txt" 2>&1 &
  SNIFFER=$!; sleep 1
fi
for ((r = 1; r <= RUNS; r++)); do
  order=("${SERVER_LIST[@]}")
  if ((r % 2 == 0)); then order=(); for ((i = ${#SERVER_LIST[@]} - 1; i >= 0; i--)); do order+=("${SERVER_LIST[$i]}"); done; fi
  for cell in "${CELL_LIST[@]}"; do
    if [ "$cell" = push ]; then run_push "$r"; continue; fi
    for name in "${order[@]}"; do run_cell "$r" "$cell" "$name"; done
  done
done

if [ -n "$SNIFFER" ]; then
  kill "$SNIFFER"; while kill -0 "$SNIFFER" 2>/dev/null; do sleep 0.1; done
  log "per-cycle times (bench/net/cycles.py, $RUN_DIR/cycles.txt):"; sed -n '/^| sender/,$p' "$RUN_DIR/cycles.txt" >&2
fi

if [ "$PROFILE" = 1 ] && has "$SERVERS" conduit; then
  # One more C-MOVE and C-GET with conduit serve restarted on the same archive under the V8 CPU
  # profiler (not counted).
  PROF_DIR="$RUN_DIR/profiles"; mkdir -p "$PROF_DIR"
  stop_pid "${PID_OF[conduit]}"
  start_conduit "$RUN_DIR/conduit-data" "$CONDUIT_PORT" --cpu-prof --cpu-prof-interval 200 --cpu-prof-dir="$PROF_DIR"
  PID_OF[conduit]=$SERVER_PID
  for cell in "${CELL_LIST[@]}"; do [ "$cell" = push ] || run_cell profile "$cell" conduit; done
  stop_pid "${PID_OF[conduit]}"
  for p in "$PROF_DIR"/*.cpuprofile; do
    [ -f "$p" ] || continue
    log "profile $p:"; node "$HERE/cpuprofile-top.mjs" "$p" 30 | tee "$p.top.txt" >&2 || true
  done
  sed -i '/^profile\t/d' "$RESULTS"
fi

CONDUIT1_MOVE_ASSOCIATIONS="${CONDUIT1_MOVE_ASSOCIATIONS:-1}" node "$HERE/retrieve/summary.mjs" "$RESULTS" | tee "$RUN_DIR/summary.md"
