#!/bin/bash
# Archive benchmark: `conduit serve` (durable: every object fsync'd, file and directory, and committed
# to the SQLite index before its Success) against Orthanc 1.10.1 and DCMTK 3.6.7 storescp, in the same
# run, on the same corpus, on 127.0.0.1. Not a test: run by hand (docs/benchmarks.md, "Archive").
#
#   bash bench/serve.sh                        # builds (npx tsc -p .), generates the corpus if missing
#   RUNS=5 CELLS=store bash bench/serve.sh
#
# Cells (each contender once per round, interleaved, the order rotated from round to round; RUNS
# rounds; median and min-max over the rounds):
#   store    storescu (TCP_NODELAY=1) sends the 2,000 CT files (`+sd +r $CORPUS/ct`), from 1
#            association, and from 4 at once (4 storescu processes, one patient folder of 500 each),
#            into: conduit serve (fresh process, empty data folder), Orthanc (fresh process, EMPTY
#            database, the shared anchor's settings: SQLite index + files, SyncStorageArea,
#            StoreMD5ForAttachments, 16 KiB PDU, 4 DICOM threads), storescp --fork (writes files, no
#            fsync; a process per association). Time = from the first storescu start to the last
#            one's exit. Checked: 2,000 instances held afterwards (index rows, Orthanc statistics, files).
#   find     C-FIND, Study Root, STUDY level, per query INSIDE ONE ASSOCIATION: findscu --repeat R
#            (one association, R queries) and findscu --repeat 1 (median of 3 runs); per query =
#            (T_R - T_1) / (R - 1),
#            which removes process start and association set-up. Same findscu, same queries for both
#            servers, each holding the whole corpus (2,203 instances, 105 studies): "one" (PatientID=
#            BP00001), "wild" (PatientName=BENCH^PATIENT1* and a 6-month StudyDate range), "all" (every
#            study, 105 results). Orthanc with StorageAccessOnFind=Always (the Debian default the
#            anchor uses). The number of matches is checked to be the same.
#   find-1m  the same queries against conduit serve whose index also holds 1,000,000 synthetic
#            instances (bench/index-scale.mjs, "hospital" mix: 6,767 studies, 4,113 patients; index
#            rows only, no blobs; cached in $WORK/index-1m), the corpus stored into it by storescu on
#            top; Orthanc (corpus only) measured again in the same rounds. The server is started by
#            bench/serve/serve-quiet.mjs (the CLI's startServer, its startup check's million "missing
#            blob" lines summed up). "all" is left out there: it would return 6,872 studies (against
#            Orthanc's 105), ~2 s a query, so R of them take minutes, and it compares nothing.
# Every server is a fresh process on its own port (PORT_BASE..PORT_BASE+5), stopped by its PID (a
# trap stops them on exit). Environment: RUNS (3), CELLS (store,find,find-1m), CORPUS (/tmp/corpus),
# PORT_BASE (14700), WORK (/tmp/conduit-bench-work; each run leaves results.tsv, logs and summary.md
# in a dated folder), REPEAT (200), ASSOCS (1,4), STORE_WHO (conduit,orthanc,storescp),
# CONDUIT_ROOT (another checkout's built tree to measure as "conduit"), BASE_ROOT (a built checkout of an
# earlier commit: add conduit-base to STORE_WHO to measure it beside the current tree),
# PROFILE=1: one more 1-association store into conduit serve under node --cpu-prof (top printed).
# TRACE=1: one more store per ASSOCS into bench/serve/serve-traced.mjs: each C-STORE's chain (receive,
# parse, blob readable / durable, index durable, response), the CPU seconds, the event loop's
# utilisation, the index's commits (writes per transaction, wait, COMMIT, log flush) and the thread
# pool's file system calls (time to callback, calls under way when made), printed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
CONDUIT_ROOT="${CONDUIT_ROOT:-$ROOT}"
BASE_ROOT="${BASE_ROOT:-}"
RUNS="${RUNS:-3}"
CELLS="${CELLS:-store,find,find-1m}"
CORPUS="${CORPUS:-/tmp/corpus}"
PORT_BASE="${PORT_BASE:-14700}"
WORK="${WORK:-/tmp/conduit-bench-work}"
REPEAT="${REPEAT:-200}"
ASSOCS="${ASSOCS:-1,4}"
STORE_WHO="${STORE_WHO:-conduit,orthanc,storescp}"
PROFILE="${PROFILE:-0}"
TRACE="${TRACE:-0}"
RUN_DIR="$WORK/serve-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN_DIR/logs"
RESULTS="$RUN_DIR/results.tsv"
: >"$RESULTS"
export TCP_NODELAY=1   # DCMTK (storescu, findscu, storescp, Orthanc's DICOM server) leaves Nagle on otherwise

P_CONDUIT=$PORT_BASE
P_ORTHANC=$((PORT_BASE + 1)); P_ORTHANC_HTTP=$((PORT_BASE + 2))
P_SCP=$((PORT_BASE + 3))
P_ORTHANC_LOADED=$((PORT_BASE + 4)); P_ORTHANC_LOADED_HTTP=$((PORT_BASE + 5))

LISTEN_TIMEOUT_S=120
source "$HERE/lib.sh"

# ---------- set-up ----------
for c in storescu storescp findscu curl jq ss; do command -v $c >/dev/null || die "$c not found (apt-get install dcmtk curl jq iproute2)"; done
[ -x /usr/sbin/Orthanc ] || die "/usr/sbin/Orthanc not found (apt-get install orthanc)"
(cd "$ROOT" && npx tsc -p . >"$RUN_DIR/tsc.log" 2>&1) || die "tsc failed (see $RUN_DIR/tsc.log)"
if [ "$(find "$CORPUS/ct" -name '*.dcm' 2>/dev/null | wc -l)" -lt 2000 ] || [ "$(find "$CORPUS/small" -name '*.dcm' 2>/dev/null | wc -l)" -lt 200 ]; then
  /usr/bin/python3 "$HERE/gen-corpus.py" "$CORPUS"
fi
N_CT=$(find "$CORPUS/ct" -type f -name '*.dcm' | wc -l)
N_ALL=$(find "$CORPUS" -type f -name '*.dcm' | wc -l)

# ---------- processes ----------
record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RESULTS"; }
rotate() { local r=$1; shift; local a=("$@") n=$# i; for ((i = 0; i < n; i++)); do echo "${a[$(((i + r - 1) % n))]}"; done; }

# Orthanc with the shared anchor's settings (/work/shared/bench/lib.sh orthanc_config), on our ports.
orthanc_config() {  # DIR DICOM_PORT HTTP_PORT
  local d=$1; mkdir -p "$d/db"
  local plugins='"/usr/share/orthanc/plugins/libOrthancDicomWeb.so"'
  [ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || plugins=''
  cat >"$d/orthanc.json" <<EOF
{
  "Name": "BENCH", "StorageDirectory": "$d/db", "IndexDirectory": "$d/db", "StorageCompression": false,
  "Plugins": [ $plugins ],
  "HttpServerEnabled": true, "HttpPort": $3, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "HttpCompressionEnabled": true,
  "DicomServerEnabled": true, "DicomAet": "ORTHANC", "DicomPort": $2, "DicomCheckCalledAet": false,
  "DicomAlwaysAllowEcho": true, "DicomAlwaysAllowStore": true, "DicomAlwaysAllowFind": true,
  "DicomAlwaysAllowGet": true, "DicomAlwaysAllowMove": true, "UnknownSopClassAccepted": false,
  "DicomThreadsCount": 4, "HttpThreadsCount": 50, "ConcurrentJobs": 2,
  "SyncStorageArea": true, "StoreMD5ForAttachments": true, "OverwriteInstances": false,
  "StorageAccessOnFind": "Always", "MaximumPduLength": 16384, "SaveJobs": false
}
EOF
}
start_orthanc() {  # DIR DICOM_PORT HTTP_PORT (fresh: the database folder is emptied first)
  local d=$1
  rm -rf "$d"; mkdir -p "$d"; orthanc_config "$d" "$2" "$3"
  if listening "$3"; then die "port $3 is already in use (set PORT_BASE)"; fi
  start_server "$2" "$d/orthanc.log" /usr/sbin/Orthanc "$d/orthanc.json"
  local i=0
  until curl -sf "http://127.0.0.1:$3/system" >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); [ $i -lt 600 ] || die "Orthanc HTTP did not answer"; done
}
orthanc_count() { curl -s "http://127.0.0.1:$1/statistics" | jq .CountInstances; }
conduit_count() {  # DATA_DIR -> instances in the index
  (cd "$ROOT" && node -e "const D = require('better-sqlite3'); const db = new D(process.argv[1], { readonly: true }); console.log(db.prepare('SELECT count(*) AS n FROM instance').get().n)" "$1/index.sqlite")
}
start_conduit() {  # DATA_DIR PORT [node options...]  (CONDUIT_BIN_ROOT: the tree to run, default CONDUIT_ROOT)
  local data=$1 port=$2; shift 2
  start_server "$port" "$RUN_DIR/logs/conduit.$port.log" node "$@" "${CONDUIT_BIN_ROOT:-$CONDUIT_ROOT}/bin/conduit" serve --dimse-port "$port" --http-port 0 --host 127.0.0.1 --data "$data" --aet CONDUIT --log-level warn
}

# storescu from N associations at once: 1 -> the whole ct folder; 4 -> one patient folder each.
send_ct() {  # AEC PORT ASSOCS -> exit status 0 when every storescu succeeded
  local aec=$1 port=$2 n=$3 p pids=() rc=0
  if [ "$n" = 1 ]; then
    storescu -aec "$aec" +sd +r 127.0.0.1 "$port" "$CORPUS/ct" >"$RUN_DIR/logs/storescu.log" 2>&1 || rc=$?
  else
    for p in $(seq 1 "$n"); do
      storescu -aec "$aec" +sd +r 127.0.0.1 "$port" "$CORPUS/ct/p$p" >"$RUN_DIR/logs/storescu.$p.log" 2>&1 & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  fi
  return $rc
}

# ---------- store ----------
run_store() {  # ROUND ASSOCS WHO
  local r=$1 n=$2 who=$3 d="$RUN_DIR/store-$3" port aec got ld t0 t1 c0 c1 rc=0
  rm -rf "$d"; mkdir -p "$d"
  case $who in
    conduit) start_conduit "$d/data" "$P_CONDUIT"; port=$P_CONDUIT; aec=CONDUIT ;;
    conduit-base) [ -n "$BASE_ROOT" ] || die "conduit-base needs BASE_ROOT"; CONDUIT_BIN_ROOT=$BASE_ROOT start_conduit "$d/data" "$P_CONDUIT"; port=$P_CONDUIT; aec=CONDUIT ;;
    orthanc) start_orthanc "$d/orthanc" "$P_ORTHANC" "$P_ORTHANC_HTTP"; port=$P_ORTHANC; aec=ORTHANC ;;
    storescp) mkdir -p "$d/out"; start_server "$P_SCP" "$RUN_DIR/logs/storescp.log" storescp --fork -aet STORESCP -od "$d/out" "$P_SCP"; port=$P_SCP; aec=STORESCP ;;
  esac
  sync
  ld=$(load1); c0=$(cpu_ticks "$SERVER_PID")
  t0=$(now_ns)
  send_ct "$aec" "$port" "$n" || rc=$?
  t1=$(now_ns)
  c1=$(cpu_ticks "$SERVER_PID")
  case $who in
    conduit|conduit-base) stop_pid "$SERVER_PID"; got=$(conduit_count "$d/data") ;;
    orthanc) got=$(orthanc_count "$P_ORTHANC_HTTP"); stop_pid "$SERVER_PID" ;;
    storescp) stop_pid "$SERVER_PID"; got=$(find "$d/out" -type f | wc -l) ;;
  esac
  [ "$rc" = 0 ] && [ "$got" = "$N_CT" ] || die "store $who x$n round $r: storescu exit $rc, $got of $N_CT instances held (logs in $RUN_DIR/logs)"
  local s; s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}')
  record "$r store-$n $who $s $N_CT $ld $(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b-a)/hz}')"
  log "store x$n round $r $who: $s s, $(awk -v s="$s" -v n="$N_CT" 'BEGIN {printf "%.0f", n/s}') inst/s (load $ld)"
  rm -rf "$d"
}

# ---------- find ----------
RET="-k StudyInstanceUID -k StudyDescription -k ModalitiesInStudy -k NumberOfStudyRelatedInstances"
query_args() {  # NAME -> the findscu keys
  case $1 in
    one) echo "-k QueryRetrieveLevel=STUDY -k PatientID=BP00001 -k PatientName -k StudyDate $RET" ;;
    wild) echo "-k QueryRetrieveLevel=STUDY -k PatientName=BENCH^PATIENT1* -k StudyDate=20230101-20230630 -k PatientID $RET" ;;
    all) echo "-k QueryRetrieveLevel=STUDY -k PatientID -k PatientName -k StudyDate $RET" ;;
  esac
}
matches() {  # AEC PORT QUERY -> number of matches (Pending responses)
  # shellcheck disable=SC2046
  findscu -v -S -aec "$1" $(query_args "$3") 127.0.0.1 "$2" 2>&1 | grep -c 'Find Response.*Pending' || true
}
run_find() {  # ROUND CELL WHO AEC PORT QUERIES...
  local r=$1 cell=$2 who=$3 aec=$4 port=$5 q t0 t1 t2 m ld; shift 5
  for q in "$@"; do
    m=$(matches "$aec" "$port" $q)
    ld=$(load1)
    # shellcheck disable=SC2046
    t0=$(now_ns); findscu -S -aec "$aec" $(query_args $q) --repeat "$REPEAT" 127.0.0.1 "$port" >/dev/null 2>&1 || die "findscu $who $q failed"
    t1=$(now_ns)
    # T_1: the median of 3 runs (one process start jitters by milliseconds on a loaded machine)
    local singles=() k ta
    for k in 1 2 3; do
      # shellcheck disable=SC2046
      ta=$(now_ns); findscu -S -aec "$aec" $(query_args $q) 127.0.0.1 "$port" >/dev/null 2>&1 || die "findscu $who $q failed"
      singles+=($(($(now_ns) - ta)))
    done
    t2=$(printf '%s\n' "${singles[@]}" | sort -n | sed -n 2p)
    local per; per=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$REPEAT" 'BEGIN {printf "%.4f", ((b-a) - c) / (n-1) / 1e6}')
    record "$r $cell-$q $who $per $m $ld $(awk -v a="$t0" -v b="$t1" -v n="$REPEAT" 'BEGIN {printf "%.4f", (b-a)/n/1e6}')"
    log "$cell $q round $r $who: $per ms per query in the association ($m matches; load $ld)"
  done
}
load_corpus() {  # AEC PORT
  storescu -aec "$1" +sd +r 127.0.0.1 "$2" "$CORPUS" >"$RUN_DIR/logs/load.log" 2>&1 || die "loading the corpus failed (see $RUN_DIR/logs/load.log)"
}
ORTHANC_LOADED_PID=""
orthanc_loaded() {
  [ -n "$ORTHANC_LOADED_PID" ] && return 0
  log "Orthanc: loading the corpus ($N_ALL files)"
  start_orthanc "$RUN_DIR/orthanc-loaded" "$P_ORTHANC_LOADED" "$P_ORTHANC_LOADED_HTTP"; ORTHANC_LOADED_PID=$SERVER_PID
  load_corpus ORTHANC "$P_ORTHANC_LOADED"
  [ "$(orthanc_count "$P_ORTHANC_LOADED_HTTP")" = "$N_ALL" ] || die "Orthanc holds $(orthanc_count "$P_ORTHANC_LOADED_HTTP") of $N_ALL"
}

INDEX_1M="$WORK/index-1m/index.sqlite"
make_index_1m() {
  [ -f "$INDEX_1M" ] && return 0
  log "building the 1,000,000-instance index (bench/index-scale.mjs, hospital mix; ~1-2 minutes)"
  mkdir -p "$(dirname "$INDEX_1M")"
  local out; out=$(cd "$ROOT" && INSTANCES=1000000 MIXES=hospital ROUNDS=1 KEEP=1 node bench/index-scale.mjs 2>"$RUN_DIR/logs/index-1m.log")
  echo "$out" >>"$RUN_DIR/logs/index-1m.log"
  local kept; kept=$(sed -n 's/^kept //p' <<<"$out")
  [ -f "$kept" ] || die "bench/index-scale.mjs kept no index (see $RUN_DIR/logs/index-1m.log)"
  mv "$kept" "$INDEX_1M"; rm -rf "$(dirname "$kept")"
}

# ---------- run ----------
log "corpus: $N_CT CT files ($N_ALL in all); RUNS=$RUNS CELLS=$CELLS; results in $RUN_DIR"
log "machine: $(nproc) CPU, load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), $(storescu --version 2>&1 | head -1), Orthanc $(/usr/sbin/Orthanc --version 2>&1 | head -1)"
[ -n "$BASE_ROOT" ] && log "conduit-base: $BASE_ROOT at $(git -C "$BASE_ROOT" rev-parse --short HEAD 2>/dev/null || cat "$BASE_ROOT/.commit" 2>/dev/null || echo '?')"
log "conduit: $CONDUIT_ROOT at $(git -C "$CONDUIT_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$CONDUIT_ROOT" diff --quiet 2>/dev/null || echo ' (modified)')"
IFS=, read -ra WHO_LIST <<<"$STORE_WHO"
IFS=, read -ra ASSOC_LIST <<<"$ASSOCS"
if has "$CELLS" store; then
  for ((r = 1; r <= RUNS; r++)); do
    for n in "${ASSOC_LIST[@]}"; do
      for who in $(rotate "$r" "${WHO_LIST[@]}"); do run_store "$r" "$n" "$who"; done
    done
  done
fi
if has "$CELLS" find || has "$CELLS" find-1m; then orthanc_loaded; fi
if has "$CELLS" find; then
  d="$RUN_DIR/find-conduit"; rm -rf "$d"
  start_conduit "$d" "$P_CONDUIT"; CONDUIT_PID=$SERVER_PID
  load_corpus CONDUIT "$P_CONDUIT"
  for ((r = 1; r <= RUNS; r++)); do
    for who in $(rotate "$r" conduit orthanc); do
      if [ "$who" = conduit ]; then run_find "$r" find conduit CONDUIT "$P_CONDUIT" one wild all; else run_find "$r" find orthanc ORTHANC "$P_ORTHANC_LOADED" one wild all; fi
    done
  done
  stop_pid "$CONDUIT_PID"; rm -rf "$d"
fi
if has "$CELLS" find-1m; then
  make_index_1m
  d="$RUN_DIR/find-1m"; rm -rf "$d"; mkdir -p "$d"
  log "copying the 1M index"; cp "$INDEX_1M" "$d/index.sqlite"
  start_server "$P_CONDUIT" "$RUN_DIR/logs/conduit-1m.log" node "$HERE/serve/serve-quiet.mjs" --data "$d" --port "$P_CONDUIT"; CONDUIT_PID=$SERVER_PID
  load_corpus CONDUIT "$P_CONDUIT"
  for ((r = 1; r <= RUNS; r++)); do
    for who in $(rotate "$r" conduit orthanc); do
      if [ "$who" = conduit ]; then run_find "$r" find-1m conduit CONDUIT "$P_CONDUIT" one wild; else run_find "$r" find-1m orthanc ORTHANC "$P_ORTHANC_LOADED" one wild; fi
    done
  done
  stop_pid "$CONDUIT_PID"
  log "$(grep 'startup check' "$RUN_DIR/logs/conduit-1m.log" || true)"
  rm -rf "$d"
fi
if [ -n "$ORTHANC_LOADED_PID" ]; then stop_pid "$ORTHANC_LOADED_PID"; rm -rf "$RUN_DIR/orthanc-loaded"; fi  # 1.4 GB of database and files

if [ "$TRACE" = 1 ]; then
  for n in "${ASSOC_LIST[@]}"; do
    d="$RUN_DIR/trace-$n"; rm -rf "$d"; mkdir -p "$d"
    start_server "$P_CONDUIT" "$RUN_DIR/logs/trace-$n.log" node "$HERE/serve/serve-traced.mjs" --data "$d" --port "$P_CONDUIT"
    ld=$(load1)
    send_ct CONDUIT "$P_CONDUIT" "$n" || die "traced store x$n failed"
    stop_pid "$SERVER_PID"
    log "store phases, $n association(s), load $ld:"; grep -v '^listening' "$RUN_DIR/logs/trace-$n.log" >&2 || true
    rm -rf "$d"
  done
fi
if [ "$PROFILE" = 1 ]; then
  d="$RUN_DIR/prof"; rm -rf "$d"; mkdir -p "$d/cpu"
  start_conduit "$d/data" "$P_CONDUIT" --cpu-prof --cpu-prof-interval 200 --cpu-prof-dir="$d/cpu"
  send_ct CONDUIT "$P_CONDUIT" 1 || true
  stop_pid "$SERVER_PID"
  for p in "$d"/cpu/*.cpuprofile; do log "profile $p:"; node "$HERE/cpuprofile-top.mjs" "$p" 30 >&2 || true; done
fi

node "$HERE/serve/summary.mjs" "$RESULTS" "$REPEAT" | tee "$RUN_DIR/summary.md"
