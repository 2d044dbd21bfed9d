/**
 * Where a retrieve's time goes between C-STORE sub-operations, in `conduit serve` (a diagnostic,
 * not a test): loaded with `node --import`, it records the DIMSE messages (diagnostics_channel
 * conduit:dimse:message) and the sizes and times of the process' socket writes, and when the
 * process exits (or on SIGUSR2) prints to stderr, per C-MOVE / C-GET, the median and 90th
 * percentile in microseconds of:
 *
 *   rsp->rq       C-STORE-RSP received (decoded) -> next C-STORE-RQ begun (this end's hand-over)
 *   rq->write     C-STORE-RQ begun -> its first socket write (fragmenting, PDU encoding)
 *   writing       first -> last socket write of the C-STORE-RQ (writes of >= 1 KiB)
 *   receiver      last write of the C-STORE-RQ -> its C-STORE-RSP decoded (the receiver's turn,
 *                 plus this end's reading of the response)
 *   cycle         C-STORE-RQ begun -> next C-STORE-RQ begun
 *
 * and how many C-MOVE-RSPs / C-GET-RSPs were sent between a C-STORE-RSP and the next C-STORE-RQ
 * (holding it up; the final response counts here too) and while a C-STORE-RQ was out. With
 * bench/retrieve.sh (the output lands in the run's logs/conduit-PORT.log):
 *
 *   NODE_OPTIONS_SERVE="--import ./bench/retrieve/hand-over.mjs" RUNS=1 CELLS=move,get SERVERS=conduit bash bench/retrieve.sh
 */
import { subscribe } from 'node:diagnostics_channel';
import net from 'node:net';

const events = []; // [microseconds, kind, detail]
const now = () => Number(process.hrtime.bigint() / 1000n);
subscribe('conduit:dimse:message', (m) => events.push([now(), m.direction === 'sent' ? 'sent' : 'received', m.type]));
const proto = net.Socket.prototype;
const writev = proto._writev;
const write = proto._write;
proto._writev = function (chunks, callback) {
  let n = 0;
  for (const c of chunks) n += c.chunk.length;
  events.push([now(), 'write', n]);
  return writev.call(this, chunks, callback);
};
proto._write = function (chunk, encoding, callback) {
  events.push([now(), 'write', chunk.length]);
  return write.call(this, chunk, encoding, callback);
};

const quantile = (xs, q) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length ? a[Math.min(a.length - 1, Math.floor(a.length * q))] : NaN;
};

function summarise() {
  const retrieves = [];
  let current;
  for (const e of events) {
    if (e[1] === 'received' && (e[2] === 'C-MOVE-RQ' || e[2] === 'C-GET-RQ')) retrieves.push((current = { type: e[2], events: [] }));
    current?.events.push(e);
  }
  const lines = [];
  for (const r of retrieves) {
    const m = { 'rsp->rq': [], 'rq->write': [], writing: [], receiver: [], cycle: [] };
    let rq, rsp, first, last, pendingBefore = 0, pendingAfter = 0, subOperations = 0;
    for (const [t, kind, detail] of r.events) {
      if (kind === 'sent' && detail === 'C-STORE-RQ') {
        subOperations++;
        if (rsp !== undefined) m['rsp->rq'].push(t - rsp);
        if (rq !== undefined) m.cycle.push(t - rq);
        rq = t;
        rsp = first = last = undefined;
      } else if (kind === 'write' && detail >= 1024 && rq !== undefined && rsp === undefined) {
        first ??= t;
        last = t;
        if (first === t) m['rq->write'].push(t - rq);
      } else if (kind === 'received' && detail === 'C-STORE-RSP') {
        rsp = t;
        if (first !== undefined) {
          m.writing.push(last - first);
          m.receiver.push(t - last);
        }
      } else if (kind === 'sent' && (detail === 'C-MOVE-RSP' || detail === 'C-GET-RSP') && rsp !== undefined) {
        pendingBefore++;
      } else if (kind === 'sent' && (detail === 'C-MOVE-RSP' || detail === 'C-GET-RSP')) {
        pendingAfter++;
      }
    }
    const cells = Object.entries(m).map(([k, xs]) => `${k} ${quantile(xs, 0.5)} / ${quantile(xs, 0.9)}`);
    lines.push(`hand-over ${r.type}: ${subOperations} C-STORE-RQs; us median / p90: ${cells.join(', ')}; ` +
      `responses sent between a C-STORE-RSP and the next C-STORE-RQ ${pendingBefore}, while a C-STORE-RQ was out ${pendingAfter}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

process.on('exit', summarise);
process.on('SIGUSR2', summarise);
