#!/bin/bash
# DICOMweb benchmark: `conduit serve` against Orthanc 1.10 + its DICOMweb plugin (Debian), in the
# same run, on the same corpus, on 127.0.0.1, with the same clients. Not a test: run by hand
# (docs/benchmarks.md, "DICOMweb"):
#
#   bash bench/dicomweb.sh                     # builds (npx tsc -p .), generates the corpus if missing
#   RUNS=3 CELLS=stow,memory bash bench/dicomweb.sh
#
# Cells (each server once per round, their order rotated from round to round; RUNS rounds; the
# summary gives medians over the rounds and Conduit/Orthanc ratios):
#   stow     STOW-RS of the 2,000 CT files in 40 multipart bodies of 50 instances (~26 MB, built by
#            /work/shared/bench/make-stow.py's format: bench/dicomweb/make-stow.mjs), POSTed 1 and 4
#            at a time into an EMPTY server started before each run (not timed), by each client of
#            STOW_CLIENTS: node (bench/dicomweb/stow-client.mjs, one process; cells stow1, stow4) and/or
#            curl (xargs -P, a shell + curl + jq per body, as before 2026-11-22; cells stow1-curl,
#            stow4-curl). Both durable: Orthanc SyncStorageArea true (Debian default), Conduit fsync
#            (default). Also recorded: the CPU seconds (user + system, all threads) the server used
#            meanwhile, and the client's (all its processes). curl is told `Expect:` (empty) for both:
#            Orthanc 1.10 never answers 100-continue.
#   memory   peak RSS (VmHWM) of a fresh server before and after a STOW-RS of the 200 MiB
#            multiframe (MF0_400frames.dcm, one part, curl); the growth is the figure. Diagnostic
#            row conduit-semi1: conduit serve under node --max-semi-space-size=1 (docs/benchmarks.md:
#            what is left of the growth is dead socket buffers awaiting a young-generation GC).
#   wado     WADO-RS of the whole study of ct/p1 (500 CT, multipart/related; type=application/dicom,
#            curl -o /dev/null; bytes/s of the response body), REQUESTS requests per round, warm.
#   metadata WADO-RS study metadata of the same study (application/dicom+json), REQUESTS requests
#            per round, warm (2 untimed requests first); time per request.
#   qido     QIDO-RS one match, one keep-alive connection, requests one after the other for
#            QIDO_SECONDS (bench/dicomweb/latency.mjs, what wrk -t1 -c1 measures; wrk is not installed): /studies?StudyInstanceUID=<ct/p1's>
#            and /studies?PatientID=BP00001 (the corpus' p1); p50 latency (and p99, req/s).
# wado/metadata/qido run against both servers loaded once with the CT corpus by STOW-RS (par 4).
#
# Environment: RUNS (3), CELLS (stow,memory,wado,metadata,qido), STOW_CLIENTS (node; node,curl for
# both), CORPUS (/tmp/corpus), REQUESTS
# (10), QIDO_SECONDS (5), PORT_BASE (18460: Conduit HTTP +0, Orthanc HTTP +1, Orthanc DICOM +2;
# not the ports of /work/shared/bench, so that both can run), WORK (/tmp/conduit-bench-work: each
# run leaves results.tsv, logs and summary.md in a dated folder there), ORTHANC (/usr/sbin/Orthanc),
# BUILD (1; 0 skips the tsc build), PROFILE (1: after the cells, one more STOW-RS 1 at a time into
# conduit serve under node --cpu-prof; the profile is left in the run folder and its top printed).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS="${RUNS:-3}"
CELLS="${CELLS:-stow,memory,wado,metadata,qido}"
STOW_CLIENTS="${STOW_CLIENTS:-node}"
CORPUS="${CORPUS:-/tmp/corpus}"
REQUESTS="${REQUESTS:-10}"
QIDO_SECONDS="${QIDO_SECONDS:-5}"
PORT_BASE="${PORT_BASE:-18460}"
ORTHANC="${ORTHANC:-/usr/sbin/Orthanc}"
DICOMWEB_PLUGIN=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
C_PORT=$PORT_BASE
O_PORT=$((PORT_BASE + 1))
O_DICOM_PORT=$((PORT_BASE + 2))
RUN_DIR="${WORK:-/tmp/conduit-bench-work}/dicomweb-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN_DIR/logs"
RESULTS="$RUN_DIR/results.tsv"
: >"$RESULTS"
MF="$CORPUS/large/MF0_400frames.dcm"
BODIES="${WORK:-/tmp/conduit-bench-work}/stow-bodies"
export TCP_NODELAY=1   # Orthanc's DICOM side is DCMTK (unused here, but as in /work/shared/bench)

source "$HERE/lib.sh"
record() { printf '%s\n' "$*" | tr ' ' '\t' >>"$RESULTS"; }  # round cell server value count bytes load [extra...]

# ---------- set-up ----------
for c in curl jq dcmdump xargs; do command -v $c >/dev/null || die "$c not found (apt-get install curl jq dcmtk)"; done
[ -x "$ORTHANC" ] && [ -f "$DICOMWEB_PLUGIN" ] || die "Orthanc or its DICOMweb plugin not found (apt-get install orthanc orthanc-dicomweb)"
[ "${BUILD:-1}" = 0 ] || (cd "$ROOT" && npx tsc -p . >"$RUN_DIR/tsc.log" 2>&1) || log "warning: tsc reported errors (see $RUN_DIR/tsc.log); benchmarking the dist it emitted anyway"
# the CLI bundle bin/conduit runs (tools/bundle-cli.mjs): after tsc alone it is stale and the CLI runs unbundled
[ "${BUILD:-1}" = 0 ] || (cd "$ROOT" && node tools/bundle-cli.mjs >>"$RUN_DIR/tsc.log" 2>&1) || log "warning: bundling the CLI failed (see $RUN_DIR/tsc.log); conduit runs unbundled"
if [ ! -f "$MF" ] || [ "$(find "$CORPUS/ct" -name '*.dcm' 2>/dev/null | wc -l)" -lt 2000 ]; then
  /usr/bin/python3 "$HERE/gen-corpus.py" "$CORPUS"
fi
find "$CORPUS/ct" -type f -name '*.dcm' | sort >"$RUN_DIR/ct.lst"
N_CT=$(wc -l <"$RUN_DIR/ct.lst")
B_CT=$(xargs -a "$RUN_DIR/ct.lst" -d '\n' stat -c %s | awk '{s+=$1} END {printf "%d", s}')
if [ "$(ls "$BODIES"/body*.mpr 2>/dev/null | wc -l)" != $(((N_CT + 49) / 50)) ] || [ ! -f "$BODIES/mf0.mpr" ]; then
  log "building STOW-RS bodies in $BODIES"
  rm -rf "$BODIES"
  node "$HERE/dicomweb/make-stow.mjs" "$BODIES" 50 "$RUN_DIR/ct.lst"
  printf '%s\n' "$MF" >"$RUN_DIR/mf.lst"
  node "$HERE/dicomweb/make-stow.mjs" "$BODIES/mf" 1 "$RUN_DIR/mf.lst"
  mv "$BODIES/mf/body0000.mpr" "$BODIES/mf0.mpr"; rmdir "$BODIES/mf"
fi
B_BODIES=$(stat -c %s "$BODIES"/body*.mpr | awk '{s+=$1} END {printf "%d", s}')
uid_of() { dcmdump -q +P "$2" "$1" | sed 's/.*\[\(.*\)\].*/\1/'; }
ONE="$CORPUS/ct/p1/se0/IM0000.dcm"
STUDY=$(uid_of "$ONE" 0020,000d)
PATIENT=$(uid_of "$ONE" 0010,0020)
N_STUDY=$(find "$CORPUS/ct/p1" -name '*.dcm' | wc -l)
B_STUDY=$(find "$CORPUS/ct/p1" -name '*.dcm' -print0 | xargs -0 stat -c %s | awk '{s+=$1} END {printf "%d", s}')

# ---------- servers ----------
URL=""
orthanc_config() {  # as /work/shared/bench/lib.sh (Debian defaults: SyncStorageArea, MD5), our ports
  local d=$1
  cat >"$d/orthanc.json" <<EOF
{
  "Name": "CONDUITBENCH",
  "StorageDirectory": "$d/db", "IndexDirectory": "$d/db", "StorageCompression": false,
  "Plugins": [ "$DICOMWEB_PLUGIN" ],
  "HttpServerEnabled": true, "HttpPort": $O_PORT, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "HttpCompressionEnabled": true,
  "DicomServerEnabled": true, "DicomAet": "ORTHANC", "DicomPort": $O_DICOM_PORT, "DicomCheckCalledAet": false,
  "DicomThreadsCount": 4, "HttpThreadsCount": 50, "ConcurrentJobs": 2,
  "SyncStorageArea": true, "StoreMD5ForAttachments": true, "OverwriteInstances": false,
  "StorageAccessOnFind": "Always", "SaveJobs": false,
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/", "EnableWado": true, "WadoRoot": "/wado",
                "Host": "127.0.0.1", "Ssl": false }
}
EOF
}
start_server() {  # start_server conduit|orthanc -> a fresh, empty server; SERVER_PID, URL
  local name=$1 d="$RUN_DIR/data-$1" port i=0
  rm -rf "$d"; mkdir -p "$d/db"
  if [ "$name" = conduit ] || [ "$name" = conduit-semi1 ] || [ "$name" = conduit-prof ]; then
    port=$C_PORT
    listening "$port" && die "port $port is already in use (set PORT_BASE)"
    local flags=(); [ "$name" = conduit-semi1 ] && flags=(--max-semi-space-size=1)
    [ "$name" = conduit-prof ] && flags=(--cpu-prof --cpu-prof-interval 200 --cpu-prof-dir="$RUN_DIR/profile")
    node "${flags[@]}" "$ROOT/bin/conduit" serve --http-port "$port" --dimse-port 0 --host 127.0.0.1 --data "$d/db" --log-level warn \
      >"$RUN_DIR/logs/$name.log" 2>&1 </dev/null &
  else
    port=$O_PORT
    listening "$port" && die "port $port is already in use (set PORT_BASE)"
    orthanc_config "$d"
    "$ORTHANC" "$d/orthanc.json" >"$RUN_DIR/logs/orthanc.log" 2>&1 </dev/null &
  fi
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  URL="http://127.0.0.1:$port/dicom-web"
  until curl -s -o /dev/null "$URL/studies?limit=1" 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
    kill -0 "$SERVER_PID" 2>/dev/null || { tail "$RUN_DIR/logs/$name.log" >&2; die "$name exited"; }
    [ $i -lt 600 ] || die "$name did not answer within 60 s"
  done
}
stop_server() { stop_pid "$SERVER_PID"; SERVER_PID=""; rm -rf "$RUN_DIR"/data-*; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# stow_post PAR BODY... : POST the bodies to $URL/studies, PAR at a time; fails if a request fails
# or its response lists a failed instance (Failed SOP Sequence 0008,1198). STOW_CLIENT: node (one
# process, bench/dicomweb/stow-client.mjs) or curl (a shell, curl and jq per body, through xargs -P).
STOW_CLIENT=node
stow_post() {
  local par=$1; shift
  if [ "$STOW_CLIENT" = node ]; then node "$HERE/dicomweb/stow-client.mjs" "$URL" "$par" "$@"; return; fi
  printf '%s\n' "$@" | xargs -d '\n' -P "$par" -I{} sh -c '
    curl -sS -f -X POST -H "Content-Type: multipart/related; type=\"application/dicom\"; boundary=DICOMTSBENCHBOUNDARY" \
        -H "Accept: application/dicom+json" -H "Expect:" --data-binary @"$1" "$0/studies" \
    | jq -e "((.[\"00081198\"].Value // []) | length) == 0" >/dev/null || { echo "STOW failed: $1" >&2; exit 255; }' "$URL" {}
}
count_instances() {  # instances the server's QIDO-RS lists for the CT corpus' studies
  local n=0 s
  for s in $(curl -s -H 'Accept: application/dicom+json' "$URL/studies" | jq -r '.[]["0020000D"].Value[0]'); do
    n=$((n + $(curl -s -H 'Accept: application/dicom+json' "$URL/studies/$s/instances?limit=100000" | jq length)))
  done
  echo $n
}
rotate() {  # rotate ROUND item... -> the items rotated left by ROUND-1
  local r=$1; shift; local a=("$@") n=$# i
  for ((i = 0; i < n; i++)); do echo "${a[$(((i + r - 1) % n))]}"; done
}

# ---------- cells ----------
run_stow() {  # run_stow ROUND PAR SERVER CLIENT
  local r=$1 par=$2 name=$3 t0 t1 ld n ccpu cell="stow$2"
  local STOW_CLIENT=$4
  [ "$STOW_CLIENT" = node ] || cell="stow$par-$STOW_CLIENT"
  start_server "$name"
  sync; ld=$(load1)
  local c0 c1 cpu; c0=$(cpu_ticks "$SERVER_PID")
  t0=$(now_ns)
  # the client's CPU: what the subshell's reaped descendants (xargs, sh, curl, jq) used
  ccpu=$( (stow_post "$par" "$BODIES"/body*.mpr >&2 && awk '{print $16 + $17}' "/proc/$BASHPID/stat") ) || die "stow $name par $par round $r failed"
  t1=$(now_ns)
  c1=$(cpu_ticks "$SERVER_PID")
  ccpu=$(awk -v a="$ccpu" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", a/hz}')
  cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (b-a)/hz}')
  n=$(count_instances)
  stop_server
  [ "$n" = "$N_CT" ] || die "stow $name round $r: $n of $N_CT instances stored"
  record "$r $cell $name $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b-a)/1e9}') $N_CT $B_CT $ld $cpu $ccpu"
  log "STOW-RS x$par ($STOW_CLIENT) round $r $name: $(awk -v a="$t0" -v b="$t1" -v n="$N_CT" 'BEGIN {printf "%.2f s, %.0f inst/s", (b-a)/1e9, n/((b-a)/1e9)}'), server CPU $cpu s, client CPU $ccpu s (load $ld)"
}

run_memory() {  # run_memory ROUND SERVER
  local r=$1 name=$2 idle after
  start_server "$name"
  sleep 1
  idle=$(hwm_kib "$SERVER_PID")
  STOW_CLIENT=curl stow_post 1 "$BODIES/mf0.mpr" || die "memory $name round $r: the STOW of the multiframe failed"
  after=$(hwm_kib "$SERVER_PID")
  stop_server
  record "$r mem-idle $name $idle 1 0 $(load1)"
  record "$r mem-stow200 $name $after 1 0 $(load1)"
  log "memory round $r $name: VmHWM idle $((idle / 1024)) MiB, after the 200 MiB STOW $((after / 1024)) MiB (+$(((after - idle) / 1024)))"
}

# Two loaded servers for the read cells (both kept running)
declare -A LOADED_URL
load_servers() {
  local name
  for name in conduit orthanc; do
    start_server "$name"
    log "loading $name with the CT corpus (STOW-RS, 4 at a time)"
    stow_post 4 "$BODIES"/body*.mpr || die "loading $name failed"
    LOADED_URL[$name]=$URL
    SERVER_PID=""   # left running until the end (cleanup stops it)
  done
}

curl_times() {  # curl_times N ACCEPT URL -> "seconds bytes" per request, one line each
  local n=$1 acc=$2 u=$3 i
  for ((i = 0; i < n; i++)); do curl -sS -f -o /dev/null -H "Accept: $acc" -w '%{time_total} %{size_download}\n' "$u"; done
}
run_wado() {  # run_wado ROUND SERVER
  local r=$1 name=$2 u ld acc='multipart/related; type="application/dicom"'
  u="${LOADED_URL[$name]}/studies/$STUDY"
  curl_times 1 "$acc" "$u" >/dev/null   # warm
  ld=$(load1)
  curl_times "$REQUESTS" "$acc" "$u" | while read -r t b; do record "$r wado $name $t $N_STUDY $b $ld"; done
  log "WADO-RS study round $r $name: $(awk -v c=wado -v s="$name" -v r="$r" '$1==r && $2==c && $3==s {print $4}' "$RESULTS" | sort -g | awk '{a[NR]=$1} END {printf "median %.3f s", a[int((NR+1)/2)]}')"
}
run_metadata() {  # run_metadata ROUND SERVER
  local r=$1 name=$2 u ld
  u="${LOADED_URL[$name]}/studies/$STUDY/metadata"
  curl_times 2 application/dicom+json "$u" >/dev/null
  ld=$(load1)
  curl_times "$REQUESTS" application/dicom+json "$u" | while read -r t b; do record "$r metadata $name $t $N_STUDY $b $ld"; done
  log "metadata round $r $name: $(awk -v c=metadata -v s="$name" -v r="$r" '$1==r && $2==c && $3==s {print $4}' "$RESULTS" | sort -g | awk '{a[NR]=$1} END {printf "median %.1f ms", 1000*a[int((NR+1)/2)]}')"
}
run_qido() {  # run_qido ROUND SERVER
  local r=$1 name=$2 q u n ld p50 p99 rps cnt st
  for q in "uid:/studies?StudyInstanceUID=$STUDY" "patient:/studies?PatientID=$PATIENT"; do
    u="${LOADED_URL[$name]}${q#*:}"
    n=$(curl -s -H 'Accept: application/dicom+json' "$u" | jq length)
    [ "$n" = 1 ] || die "QIDO-RS $u: $n results, not 1"
    ld=$(load1)
    read -r p50 p99 rps cnt st < <(node "$HERE/dicomweb/latency.mjs" "$u" "$QIDO_SECONDS")
    [ "$st" = 200 ] || die "QIDO-RS $u: status $st"
    record "$r qido-${q%%:*} $name $p50 1 0 $ld $p99 $rps"
    log "QIDO-RS ${q%%:*} round $r $name: p50 $p50 ms, p99 $p99 ms, $rps req/s ($cnt requests)"
  done
}

# ---------- run ----------
log "corpus: $N_CT CT files, $B_CT bytes ($B_BODIES in the bodies); study $STUDY ($N_STUDY instances, $B_STUDY bytes); RUNS=$RUNS CELLS=$CELLS; results in $RUN_DIR"
log "machine: $(nproc) CPU, load $(cut -d' ' -f1-3 /proc/loadavg), node $(node --version), $("$ORTHANC" --version 2>&1 | head -1), conduit $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- src || echo '+changes')"
for ((r = 1; r <= RUNS; r++)); do
  if has "$CELLS" stow; then
    for client in ${STOW_CLIENTS//,/ }; do
      for par in 1 4; do for name in $(rotate "$r" conduit orthanc); do run_stow "$r" "$par" "$name" "$client"; done; done
    done
  fi
  if has "$CELLS" memory; then
    for name in $(rotate "$r" conduit orthanc conduit-semi1); do run_memory "$r" "$name"; done
  fi
done
if has "$CELLS" wado || has "$CELLS" metadata || has "$CELLS" qido; then
  load_servers
  sync   # untimed: the loads' write-back (and the stow cells' deletions) must not fall into the reads
  for ((r = 1; r <= RUNS; r++)); do
    for name in $(rotate "$r" conduit orthanc); do
      has "$CELLS" wado && run_wado "$r" "$name"
      has "$CELLS" metadata && run_metadata "$r" "$name"
      has "$CELLS" qido && run_qido "$r" "$name"
    done
  done
fi
if [ "${PROFILE:-0}" = 1 ]; then
  # One more STOW-RS of the 2,000 CT, one request at a time, into conduit serve under node
  # --cpu-prof; not part of the figures (the profiler slows it).
  start_server conduit-prof
  stow_post 1 "$BODIES"/body*.mpr || die "the profiled STOW-RS failed"
  stop_server
  for f in "$RUN_DIR"/profile/*.cpuprofile; do log "CPU profile of conduit serve during a STOW-RS: $f"; node "$HERE/cpuprofile-top.mjs" "$f" 30 >&2; done
fi
node "$HERE/dicomweb/summary.mjs" "$RESULTS" | tee "$RUN_DIR/summary.md"
