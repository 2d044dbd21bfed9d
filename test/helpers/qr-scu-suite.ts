/**
 * The Query/Retrieve SCU interop tests, run against each real Q/R SCP (DCMTK dcmqrscp, Orthanc):
 * `conduit find` at PATIENT, STUDY, SERIES and IMAGE levels with wildcards and a date range, the
 * values checked against the files the peer holds; leaving a library find early (C-CANCEL sent, the
 * peer goes on answering); `conduit move` into an in-process Storage SCP and `conduit get`, the
 * received data sets equal to the originals; a failure status (unknown Move Destination) shown and
 * exiting 1. The peer is filled with a few of pydicom's uncompressed test files (five patients).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, DicomServer, DIMSE_CHANNEL, queryRetrieveProposals, type DimseTrace } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { writeReceivedObject } from '../../src/services/storage/part10-sink.js';
import { compareAll, conduit, TEST_FILES, type CorpusFile } from './network.js';

/** Uncompressed files of five patients, one study each (CT, MR, RT Dose, RT Plan, ECG). */
export const QR_FILES = ['CT_small.dcm', 'MR_small.dcm', 'rtdose.dcm', 'rtplan.dcm', 'waveform_ecg.dcm'];

export interface QrFile extends CorpusFile {
  patientName: string;
  patientId: string;
  studyDate: string;
  studyUid: string;
  seriesUid: string;
  modality: string;
}

export async function qrFiles(): Promise<QrFile[]> {
  const out: QrFile[] = [];
  for (const name of QR_FILES) {
    const path = join(TEST_FILES, name);
    const f = await readFile(path);
    const ds = f.dataSet;
    out.push({
      path, name, sopClassUid: ds.string('SOPClassUID')!, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: f.transferSyntaxUid,
      patientName: ds.string('PatientName')!, patientId: ds.string('PatientID')!, studyDate: ds.string('StudyDate')!,
      studyUid: ds.string('StudyInstanceUID')!, seriesUid: ds.string('SeriesInstanceUID')!, modality: ds.string('Modality')!,
    });
  }
  return out;
}

/** A Storage SCP in this process (the Move Destination), writing what it receives into a folder. */
export async function startDestination(aeTitle: string, out: string): Promise<{ server: DicomServer; port: number }> {
  mkdirSync(out, { recursive: true });
  const server = new DicomServer({
    aeTitle, host: '127.0.0.1', port: 0,
    handlers: { store: async (req) => void await writeReceivedObject(out, { ...req, sourceAet: req.association.callingAeTitle }, req.dataSet, { fsync: false }) },
  });
  const { port } = await server.listen();
  return { server, port };
}

function clear(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
}

type Json = Record<string, { vr: string; Value?: unknown[] }>;

function lines(stdout: string): Json[] {
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Json);
}
function text(j: Json, tag: string): string | undefined {
  const v = j[tag]?.Value?.[0];
  return typeof v === 'object' && v !== null ? (v as { Alphabetic?: string }).Alphabetic : (v as string | undefined);
}
const sorted = <T>(xs: T[]): T[] => [...xs].sort();

export interface QrPeer {
  /** Where the peer's Q/R SCP is. */
  host: string;
  port: number;
  aeTitle: string;
  /** The AE title the peer knows the destination by, and the folder the destination writes to. */
  destination: string;
  destinationOut: string;
  files: QrFile[];
  /** Whether a C-GET goes on after a sub-operation fails (dcmqrscp) or ends there with a failure (Orthanc 1.10: C000H). */
  getGoesOnAfterFailure: boolean;
}

/**
 * Registers the tests; `peer()` gives the running peer (started in the caller's before()). `skip`:
 * the peer's skip reason, if any.
 */
export function defineQrScuTests(name: string, skip: string | undefined, peer: () => QrPeer, work: () => string): void {
  const base = () => ['--aec', peer().aeTitle];
  const where = () => ['127.0.0.1', String(peer().port)];

  test(`conduit find on ${name}: STUDY level, a PatientName wildcard; the values are the files'`, { skip }, async () => {
    const r = await conduit(['find', ...base(), '-k', 'PatientName=CompressedSamples*', '-k', 'PatientID', '-k', 'StudyDate', '-k', 'StudyInstanceUID', ...where()]);
    assert.equal(r.status, 0, r.stderr);
    const expected = peer().files.filter((f) => f.patientName.startsWith('CompressedSamples'));
    assert.equal(expected.length, 2);
    const got = lines(r.stdout);
    assert.deepEqual(sorted(got.map((j) => [text(j, '0020000D'), text(j, '00100010'), text(j, '00100020'), text(j, '00080020')].join('|'))),
      sorted(expected.map((f) => [f.studyUid, f.patientName, f.patientId, f.studyDate].join('|'))));
    assert.match(r.stderr, /2 matches; 0000H/);
  });

  test(`conduit find on ${name}: a StudyDate range`, { skip }, async () => {
    const r = await conduit(['find', ...base(), '-k', 'StudyDate=20030701-20040630', '-k', 'StudyInstanceUID', ...where()]);
    assert.equal(r.status, 0, r.stderr);
    const expected = peer().files.filter((f) => f.studyDate >= '20030701' && f.studyDate <= '20040630');
    assert.equal(expected.length, 3);
    assert.deepEqual(sorted(lines(r.stdout).map((j) => `${text(j, '0020000D')} ${text(j, '00080020')}`)), sorted(expected.map((f) => `${f.studyUid} ${f.studyDate}`)));
  });

  test(`conduit find on ${name}: Patient Root, PATIENT level, a wildcard`, { skip }, async () => {
    const r = await conduit(['find', ...base(), '-P', '--level', 'PATIENT', '-k', 'PatientName=Last*', '-k', 'PatientID', ...where()]);
    assert.equal(r.status, 0, r.stderr);
    const expected = peer().files.filter((f) => f.patientName.startsWith('Last'));
    assert.equal(expected.length, 2);
    const got = lines(r.stdout);
    assert.ok(got.every((j) => text(j, '00080052') === 'PATIENT'));
    assert.deepEqual(sorted(got.map((j) => `${text(j, '00100020')} ${text(j, '00100010')}`)), sorted(expected.map((f) => `${f.patientId} ${f.patientName}`)));
  });

  test(`conduit find on ${name}: SERIES and IMAGE levels`, { skip }, async () => {
    const ct = peer().files.find((f) => f.name === 'CT_small.dcm')!;
    const series = await conduit(['find', ...base(), '--level', 'SERIES', '-k', `StudyInstanceUID=${ct.studyUid}`, '-k', 'SeriesInstanceUID', '-k', 'Modality', ...where()]);
    assert.equal(series.status, 0, series.stderr);
    assert.deepEqual(lines(series.stdout).map((j) => [text(j, '0020000E'), text(j, '00080060')]), [[ct.seriesUid, 'CT']]);
    const mr = peer().files.find((f) => f.name === 'MR_small.dcm')!;
    const image = await conduit(['find', ...base(), '--level', 'IMAGE', '-k', `StudyInstanceUID=${mr.studyUid}`, '-k', `SeriesInstanceUID=${mr.seriesUid}`,
      '-k', 'SOPInstanceUID', ...where()]);
    assert.equal(image.status, 0, image.stderr);
    assert.deepEqual(lines(image.stdout).map((j) => [text(j, '00080052'), text(j, '00080018')]), [['IMAGE', mr.sopInstanceUid]]);
  });

  test(`find on ${name}: leaving the loop early sends C-CANCEL; the peer goes on answering`, { skip }, async (t) => {
    const traces: DimseTrace[] = [];
    const onMessage = (m: unknown) => traces.push(m as DimseTrace);
    diagnosticsChannel.subscribe(DIMSE_CHANNEL, onMessage);
    t.after(() => diagnosticsChannel.unsubscribe(DIMSE_CHANNEL, onMessage));
    const client = await connect({ host: '127.0.0.1', port: peer().port, calledAeTitle: peer().aeTitle, presentationContexts: queryRetrieveProposals(['FIND']) });
    t.after(() => client.abort());
    const op = client.find({ StudyInstanceUID: null, PatientName: '*' });
    let seen = 0;
    for await (const _ of op) {
      seen++;
      break;
    }
    assert.equal(seen, 1);
    const id = client.association.connectionId;
    assert.equal(traces.filter((m) => m.connectionId === id && m.direction === 'sent' && m.type === 'C-CANCEL-RQ').length, 1);
    // The peer may have sent every match before the C-CANCEL arrived: then its final status is Success.
    assert.ok(op.status?.isCancel || op.status?.isSuccess, op.status?.description);
    const all = await client.find({ StudyInstanceUID: null }).all();
    assert.equal(all.status.isSuccess, true, all.status.description);
    assert.deepEqual(sorted(all.matches.map((m) => m.string('StudyInstanceUID')!)), sorted(peer().files.map((f) => f.studyUid)));
    await client.release();
    const cli = await conduit(['find', ...base(), '--cancel', '1', '-k', 'StudyInstanceUID', ...where()]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(lines(cli.stdout).length, 1);
    assert.match(cli.stderr, /1 match, cancelled; (FE00H|0000H)/);
  });

  test(`conduit move from ${name} to an in-process Storage SCP: every study, the data sets equal to the originals`, { skip }, async () => {
    clear(peer().destinationOut);
    const uids = peer().files.map((f) => f.studyUid).join('\\');
    const r = await conduit(['move', ...base(), '--dest', peer().destination, '-k', `StudyInstanceUID=${uids}`, ...where()], { timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^completed ${peer().files.length}, failed 0, warnings 0; 0000H`));
    assert.deepEqual(await compareAll(peer().files, peer().destinationOut, { exact: false }), []);
  });

  test(`conduit move from ${name} to an unknown destination: the failure status and exit status 1`, { skip }, async () => {
    const r = await conduit(['move', ...base(), '--dest', 'NOWHERE', '-k', `StudyInstanceUID=${peer().files[0]!.studyUid}`, ...where()]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /conduit move: [0-9A-F]{4}H (Refused|Failed|Error)/);
  });

  test(`conduit get from ${name}: every study at STUDY level and one series, the files' data sets equal to the originals`, { skip }, async () => {
    const out = join(work(), `get-${name}`);
    clear(out);
    const uids = peer().files.map((f) => f.studyUid).join('\\');
    const r = await conduit(['get', ...base(), '--out', out, '-k', `StudyInstanceUID=${uids}`, ...where()], { timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^completed ${peer().files.length}, failed 0, warnings 0; 0000H`));
    assert.deepEqual(await compareAll(peer().files, out, { exact: false }), []);
    const ct = peer().files.find((f) => f.name === 'CT_small.dcm')!;
    const one = join(work(), `get-series-${name}`);
    clear(one);
    const s = await conduit(['get', ...base(), '--out', one, '--level', 'SERIES', '-k', `StudyInstanceUID=${ct.studyUid}`, '-k', `SeriesInstanceUID=${ct.seriesUid}`, ...where()]);
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(await compareAll([ct], one, { exact: false }), []);
  });

  test(`conduit get from ${name} accepting CT only (--sop-class): the CT arrives, the others fail, exit status 1`, { skip }, async () => {
    const out = join(work(), `get-ct-only-${name}`);
    clear(out);
    const ct = peer().files.find((f) => f.name === 'CT_small.dcm')!;
    const uids = peer().files.map((f) => f.studyUid).join('\\');
    const r = await conduit(['get', ...base(), '--out', out, '--sop-class', ct.sopClassUid, '-k', `StudyInstanceUID=${uids}`, ...where()], { timeout: 60_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    // The CT is first in the UID list, and both peers retrieve in that order.
    const others = peer().files.filter((f) => f !== ct);
    assert.deepEqual(await compareAll([ct], out, { exact: false }), []);
    if (peer().getGoesOnAfterFailure) {
      assert.match(r.stdout, new RegExp(`^completed 1, failed ${others.length}, warnings 0; B000H`));
      for (const f of others) assert.match(r.stderr, new RegExp(`conduit get: failed: ${f.sopInstanceUid.replace(/\./g, '\\.')}\n`));
    } else {
      assert.match(r.stdout, /^completed 1, failed 1, warnings 0; C000H/);
      assert.match(r.stderr, /conduit get: C000H /);
    }
  });
}
