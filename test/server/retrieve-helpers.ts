/**
 * What the C-MOVE / C-GET component tests share: an in-process Move Destination that keeps what it
 * receives, `conduit serve` in this process (port 0), a requester on the low-level API, Identifiers
 * and CT instances made in code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, DimseAssociation, DIMSE_CHANNEL, proposalsFor, describeFile, type DicomServerOptions, type DimseTrace, type StoreRequest } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import type { IncomingResponse } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { IMPLEMENTATION_CLASS_UID } from '../../src/media/implementation.js';
import { loadConfig, type RemoteAe, type ServerConfig } from '../../src/server/config.js';
import { startServer, type Log, type RunningServer } from '../../src/server/serve.js';
import { openAssociation, type PresentationContextProposal, type RoleSelection, type SopClassExtendedNegotiation } from '../../src/upper-layer/index.js';
import { PYDICOM_DATA } from '../helpers/peers.js';
import { startServer as startScp, withTimeout, type Deferred } from '../ae/helpers.js';

export const FILES = join(PYDICOM_DATA, 'test_files');
export const CT = join(FILES, 'CT_small.dcm');
export const MR_BIG_ENDIAN = join(FILES, 'MR_small_bigendian.dcm');
export const MR_RLE = join(FILES, 'MR_small_RLE.dcm');
export const PATIENT_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.1.2';
export const STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
export const STUDY_ROOT_GET = '1.2.840.10008.5.1.4.1.2.2.3';
export const PATIENT_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.1.1';
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
export const ELE = { explicitVR: true, littleEndian: true };
export const QR_TS = [EXPLICIT_VR_LITTLE_ENDIAN];

export interface Received {
  sopInstanceUid: string;
  transferSyntaxUid: string;
  bytes: Uint8Array;
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
  calledAeTitle: string;
  /** Which association it came on. */
  connectionId: string;
}

/** A Storage SCP (the Move Destination) that keeps what it receives; `onStore` may answer otherwise. */
export async function destination(aeTitle: string, options: { transferSyntaxes?: readonly string[]; onStore?: (req: StoreRequest, n: number) => Promise<number | void> } & Partial<DicomServerOptions> = {}) {
  const received: Received[] = [];
  let n = 0;
  const abstractSyntaxes: Record<string, readonly string[] | '*'> = {};
  for (const uid of [CT_IMAGE_STORAGE, MR_IMAGE_STORAGE]) abstractSyntaxes[uid] = options.transferSyntaxes ?? '*';
  const scp = await startScp({
    aeTitle,
    abstractSyntaxes,
    strictCalledAeTitle: options.strictCalledAeTitle,
    ...(options.maxAssociations !== undefined ? { maxAssociations: options.maxAssociations } : {}),
    ...(options.maxPduLength !== undefined ? { maxPduLength: options.maxPduLength } : {}),
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    handlers: {
      store: async (req) => {
        const index = n++;
        const bytes = await req.dataSet.collect();
        const answer = options.onStore ? await options.onStore(req, index) : undefined;
        if (answer === undefined || answer === 0) {
          received.push({
            sopInstanceUid: req.sopInstanceUid, transferSyntaxUid: req.transferSyntaxUid, bytes, calledAeTitle: req.association.calledAeTitle, connectionId: req.association.connectionId,
            ...(req.moveOriginatorAeTitle !== undefined ? { moveOriginatorAeTitle: req.moveOriginatorAeTitle, moveOriginatorMessageId: req.moveOriginatorMessageId } : {}),
          });
        }
        return answer ?? 0;
      },
    },
  });
  return { ...scp, received, peer: (name = aeTitle.toLowerCase()): RemoteAe => ({ name, aeTitle, host: '127.0.0.1', port: scp.port }) };
}

export async function archive(peers: RemoteAe[] = [], flags: Partial<Record<keyof ServerConfig, unknown>> = {}, log?: Log): Promise<{ server: RunningServer; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-retrieve-'));
  const server = await startServer(loadConfig({
    // A Pending response after every sub-operation (pendingInterval 0, not the default): these tests
    // follow a retrieve sub-operation by sub-operation through them; retrieve-pending-interval.test.ts
    // tests the interval.
    flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir, peers: peers.map((p) => `${p.name}=${p.aeTitle}@${p.host}:${p.port}${p.tls ? '+tls' : ''}`), pendingInterval: 0, ...flags },
    env: {},
  }), log);
  return {
    server,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stores files, and data sets made in code, into the archive. */
export async function storeInto(server: RunningServer, files: string[], dataSets: DataSet[] = []): Promise<void> {
  const described = await Promise.all(files.map((f) => describeFile(f)));
  const client = await connect({
    host: '127.0.0.1', port: server.dimsePort, calledAeTitle: 'ARCHIVE',
    presentationContexts: proposalsFor([...described, ...dataSets.map((d) => ({ sopClassUid: d.string(0x00080016)!, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }))]),
  });
  for (const f of described) assert.equal((await client.store(f)).code, 0);
  for (const d of dataSets) assert.equal((await client.store({ dataSet: d })).code, 0);
  await client.release();
}

/** A requester association with the low-level API. */
export async function requester(port: number, options: {
  contexts: PresentationContextProposal[]; roleSelections?: RoleSelection[]; extended?: SopClassExtendedNegotiation[]; callingAeTitle?: string;
  /** Maximum-length-received announced (what the archive's C-STOREs of a C-GET are cut to). */
  maximumLength?: number;
}) {
  const association = await openAssociation({
    host: '127.0.0.1', port, callingAeTitle: options.callingAeTitle ?? 'MOVER', calledAeTitle: 'ARCHIVE',
    presentationContexts: options.contexts, implementationClassUid: IMPLEMENTATION_CLASS_UID,
    ...(options.maximumLength !== undefined ? { maximumLength: options.maximumLength } : {}),
    ...(options.roleSelections ? { roleSelections: options.roleSelections } : {}),
    ...(options.extended ? { sopClassExtendedNegotiations: options.extended } : {}),
  });
  const dimse = new DimseAssociation(association);
  return { association, dimse, context: (uid: string) => association.findPresentationContext(uid)!.id };
}

export function identifier(keys: Record<number, [string, string | string[]]>): Uint8Array {
  const ds = new DataSet();
  for (const [tag, [vr, value]] of Object.entries(keys)) ds.set(Number(tag), vr as never, value);
  return encodeDataSet(ds, ELE);
}

export const LEVEL = 0x00080052;
export const PATIENT_ID = 0x00100020;
export const STUDY_UID = 0x0020000d;
export const SERIES_UID = 0x0020000e;
export const SOP_UID = 0x00080018;

export async function collect(it: AsyncIterable<IncomingResponse>): Promise<IncomingResponse[]> {
  const out: IncomingResponse[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Resolves when some association of this process receives a C-CANCEL-RQ (the DIMSE trace channel). */
export function cancelReceived(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      const t = m as DimseTrace;
      if (t.direction === 'received' && t.type === 'C-CANCEL-RQ') {
        unsubscribe(DIMSE_CHANNEL, onMessage);
        resolve();
      }
    };
    subscribe(DIMSE_CHANNEL, onMessage);
  });
}

/**
 * Sends a C-MOVE or C-GET and, once the second sub-operation has reached its receiver (`second`),
 * a C-CANCEL-RQ; the receiver answers that sub-operation (`proceed`) only once the archive has the
 * cancel, so the outcome does not depend on which connection the archive reads first.
 */
export async function cancelDuringSecond(r: Awaited<ReturnType<typeof requester>>, sopClass: string, message: Record<string, unknown>, data: Uint8Array,
  second: Deferred<void>, proceed: Deferred<void>): Promise<IncomingResponse[]> {
  const pc = r.context(sopClass);
  const responses: IncomingResponse[] = [];
  for await (const rsp of r.dimse.request(message as never, pc, data)) {
    responses.push(rsp);
    if (responses.length === 1) {
      await withTimeout(second.promise, 5000, 'the second sub-operation');
      const seen = cancelReceived();
      await r.dimse.send({ type: 'C-CANCEL-RQ', messageIdBeingRespondedTo: fields(rsp).messageIdBeingRespondedTo } as never, pc);
      await withTimeout(seen, 5000, 'the archive to receive C-CANCEL-RQ');
      proceed.resolve();
    }
  }
  return responses;
}

/** The command fields of a response, by name. */
export function fields(r: IncomingResponse): Record<string, unknown> {
  return r.message as unknown as Record<string, unknown>;
}

export function failedList(r: IncomingResponse): string[] {
  return r.dataSet ? parseDataSet(r.dataSet, ELE).strings(0x00080058) : [];
}

/** The data set of a file as its bytes in its own transfer syntax (what a byte-for-byte sender sends). */
export async function dataSetBytesOf(path: string): Promise<Uint8Array> {
  const { readFileSync } = await import('node:fs');
  const f = await readFile(path, { bulkDataThreshold: Infinity });
  return readFileSync(path).subarray(f.dataSetOffset);
}

/** CT_small as `n` instances of one series (new SOP Instance UIDs). */
export async function ctSeries(n: number): Promise<DataSet[]> {
  const out: DataSet[] = [];
  for (let i = 0; i < n; i++) {
    const ds = (await readFile(CT, { bulkDataThreshold: Infinity })).dataSet;
    ds.set(SOP_UID, 'UI', `1.2.826.0.1.3680043.8.498.77.${i + 1}`);
    out.push(ds);
  }
  return out;
}


/**
 * The log lines of `conduit serve`, and the `n`th matching one (default the first), awaited: the
 * outcome of a retrieve is logged after its final response.
 */
export function logRecorder(): { log: Log; lines: string[]; line: (re: RegExp, n?: number) => Promise<string> } {
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  const log: Log = (_level, message) => {
    lines.push(message);
    for (const w of waiting.splice(0)) w();
  };
  const line = (re: RegExp, n = 1): Promise<string> => withTimeout(new Promise<string>((resolve) => {
    const look = (): void => {
      const found = lines.filter((l) => re.test(l))[n - 1];
      if (found !== undefined) resolve(found);
      else waiting.push(look);
    };
    look();
  }), 5000, `log line ${n} matching ${re}`);
  return { log, lines, line };
}
