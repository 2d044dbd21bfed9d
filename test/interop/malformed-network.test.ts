/**
 * Bad input at a running DicomServer (the whole acceptor: Upper Layer, DIMSE, the storage handler),
 * sent by a raw TCP peer whose replies are read byte for byte: each gets the answer PS3.8 calls for
 * (an A-ASSOCIATE-RJ, or an A-ABORT with the right source and reason, PS3.8 §9.3.4, §9.3.8 and
 * Table 9-10; an "Unrecognized operation" response for an unknown DIMSE command, PS3.7 Annex C)
 * AND the server goes on serving: a normal C-ECHO succeeds after each case, and while many bad
 * connections arrive at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, DicomServer, type AssociationInfo } from '../../src/ae/index.js';
import { decodeCommand, decodeCommandSet, encodeCommand, NO_DATA_SET, DATA_SET_PRESENT, type DimseMessage } from '../../src/dimse/index.js';
import { writeReceivedObject } from '../../src/services/storage/part10-sink.js';
import { PduType, encodeAAssociateRq, encodePdu } from '../../src/upper-layer/index.js';
import { CT_IMAGE_STORAGE, IMPLICIT_LE, VERIFICATION, pdv, sampleRq } from '../upper-layer/fixtures.js';
import { RawPeer, deferred, withTimeout } from '../upper-layer/wire-helpers.js';

const MAX_PDU = 16384;

let server: DicomServer;
let port: number;
let out: string;
const handlerErrors: unknown[] = [];
let storeCalls = 0;
/** A store of this SOP Instance UID waits for `holdStore` to settle (an operation kept outstanding). */
const HELD_INSTANCE = '1.2.3.4.5.6.7.8';
let holdStore = Promise.resolve();
const aborted: Array<[AssociationInfo, Error]> = [];

before(async () => {
  out = mkdtempSync(join(tmpdir(), 'conduit-malformed-'));
  server = new DicomServer({
    aeTitle: 'SCP',
    maxPduLength: MAX_PDU,
    timeouts: { artim: 500 },
    handlers: {
      store: async (req) => {
        storeCalls++;
        if (req.sopInstanceUid === HELD_INSTANCE) await holdStore;
        await writeReceivedObject(out, { ...req, sourceAet: req.association.callingAeTitle }, req.dataSet);
      },
    },
  });
  server.on('handlerError', (e) => handlerErrors.push(e));
  server.on('aborted', (info, e) => aborted.push([info, e]));
  ({ port } = await server.listen());
});

after(async () => {
  await server.close({ abort: true });
  rmSync(out, { recursive: true, force: true });
});

/** A normal association still works: C-ECHO answered with Success. */
async function echoWorks(): Promise<void> {
  const client = await connect({ host: '127.0.0.1', port, callingAeTitle: 'GOOD' });
  const status = await client.echo();
  assert.ok(status.isSuccess, status.description);
  await client.release();
}

async function raw(): Promise<RawPeer> {
  return RawPeer.connect(port);
}

async function expectAbort(p: RawPeer, source: number, reason: number): Promise<void> {
  const pdu = await p.nextPdu();
  assert.equal(pdu.type, PduType.AAbort, `expected A-ABORT, got PDU type ${pdu.type}`);
  // PS3.8 Table 9-26: reserved, reserved, source, reason/diag.
  assert.deepEqual([pdu.body.length, pdu.body[2], pdu.body[3]], [4, source, reason]);
  // After the A-ABORT the acceptor closes (AA-1 then ARTIM, or at once): the peer sees the end.
  await p.waitClosed(3000);
}

async function expectReject(p: RawPeer, result: number, source: number, reason: number): Promise<void> {
  const pdu = await p.nextPdu();
  assert.equal(pdu.type, PduType.AAssociateRj, `expected A-ASSOCIATE-RJ, got PDU type ${pdu.type}`);
  // PS3.8 Table 9-21: reserved, result, source, reason/diag.
  assert.deepEqual([pdu.body.length, pdu.body[1], pdu.body[2], pdu.body[3]], [4, result, source, reason]);
  p.end();
  await p.waitClosed(3000);
}

/** A raw peer with an association: Verification on context 1, CT Image Storage (Implicit VR LE) on 3. */
async function associated(): Promise<RawPeer> {
  const p = await raw();
  p.send(encodePdu(sampleRq({
    presentationContexts: [
      { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
    ],
  })));
  const ac = await p.nextPdu();
  assert.equal(ac.type, PduType.AAssociateAc);
  return p;
}

/** The PDVs of a P-DATA-TF PDU body (PS3.8 §9.3.5): item length, context ID, message control header, data. */
function pdvsOf(body: Buffer): Array<{ id: number; isCommand: boolean; isLast: boolean; data: Buffer }> {
  const out: Array<{ id: number; isCommand: boolean; isLast: boolean; data: Buffer }> = [];
  for (let at = 0; at < body.length;) {
    const length = body.readUInt32BE(at);
    out.push({ id: body[at + 4]!, isCommand: (body[at + 5]! & 1) === 1, isLast: (body[at + 5]! & 2) === 2, data: body.subarray(at + 6, at + 4 + length) });
    at += 4 + length;
  }
  return out;
}

function command(message: Record<string, unknown>): Uint8Array {
  return encodeCommand(message as unknown as DimseMessage);
}

async function nextResponse(p: RawPeer): Promise<DimseMessage & { status: number }> {
  const pdu = await p.nextPdu();
  assert.equal(pdu.type, PduType.PDataTf);
  const [v] = pdvsOf(pdu.body);
  assert.ok(v && v.isCommand && v.isLast);
  return decodeCommand(v.data) as DimseMessage & { status: number };
}

/** The association still serves: a C-ECHO-RQ with `messageId` is answered with Success, then it is released. */
async function echoThenRelease(p: RawPeer, messageId: number): Promise<void> {
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, command({ type: 'C-ECHO-RQ', messageId, affectedSopClassUid: VERIFICATION, commandDataSetType: NO_DATA_SET }))] }));
  const echo = await nextResponse(p);
  assert.equal(echo.type, 'C-ECHO-RSP');
  assert.equal(echo.status, 0x0000);
  p.send(encodePdu({ type: PduType.AReleaseRq }));
  assert.equal((await p.nextPdu()).type, PduType.AReleaseRp);
  p.end();
  await p.waitClosed(3000);
}

/**
 * Sends a whole C-STORE-RQ of HELD_INSTANCE (and `then`, in the same moment), and resolves once its
 * handler runs; the handler then waits for the deferred returned.
 */
async function heldStore(p: RawPeer, messageId: number, then?: Uint8Array): Promise<{ resolve: () => void }> {
  const held = deferred<void>();
  holdStore = held.promise;
  const storeStarted = storeCalls;
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [
    pdv(3, command({ type: 'C-STORE-RQ', messageId, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: HELD_INSTANCE, priority: 0, commandDataSetType: DATA_SET_PRESENT })),
    pdv(3, Uint8Array.of(0x08, 0, 0x60, 0, 2, 0, 0, 0, 0x43, 0x54), false, true),
  ] }));
  if (then !== undefined) p.send(then);
  await withTimeout((async () => {
    while (storeCalls === storeStarted) await new Promise((r) => setTimeout(r, 5));
  })(), 3000, 'the store handler to be called');
  return { resolve: () => held.resolve() };
}

// ---- before an association ----

test('wrong protocol version: A-ASSOCIATE-RJ 1/2/2 (permanent, ACSE service-provider, protocol-version-not-supported)', async () => {
  const p = await raw();
  p.send(encodePdu(sampleRq({ protocolVersion: 0x0002 })));
  await expectReject(p, 1, 2, 2);
  await echoWorks();
});

test('unknown PDU type (0x08, well formed): A-ABORT 2/1 (unrecognized PDU)', async () => {
  const p = await raw();
  p.send(Uint8Array.of(0x08, 0x00, 0x00, 0x00, 0x00, 0x04, 1, 2, 3, 4));
  await expectAbort(p, 2, 1);
  await echoWorks();
});

test('garbage: an HTTP request, a TLS ClientHello, random bytes: A-ABORT 2/1 each', async () => {
  const tlsHello = Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03, ...new Array(40).fill(7));
  // Bytes from a fixed recurrence; the first (0xEE) is no PDU type.
  const random = Uint8Array.from({ length: 64 }, (_, i) => (i === 0 ? 0xee : (i * 97 + 13) & 0xff));
  for (const bytes of [new TextEncoder().encode('GET / HTTP/1.1\r\nHost: pacs\r\n\r\n'), tlsHello, random]) {
    const p = await raw();
    p.send(bytes);
    await expectAbort(p, 2, 1);
  }
  await echoWorks();
});

test('bad lengths: an A-ASSOCIATE-RQ whose item runs past the PDU, or with a hostile PDU-length: A-ABORT 2/6', async () => {
  const bytes = encodeAAssociateRq(sampleRq());
  const short = bytes.slice(0, bytes.length - 7);
  new DataView(short.buffer).setUint32(2, short.length - 6);
  const p = await raw();
  p.send(short);
  await expectAbort(p, 2, 6);
  const q = await raw();
  q.send(Uint8Array.of(0x01, 0x00, 0xff, 0xff, 0xff, 0xff));
  await expectAbort(q, 2, 6);
  await echoWorks();
});

test('P-DATA-TF, A-RELEASE-RQ or A-ASSOCIATE-AC before any association: A-ABORT 2/2 (unexpected PDU)', async () => {
  for (const bytes of [
    encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, command({ type: 'C-ECHO-RQ', messageId: 1, affectedSopClassUid: VERIFICATION, commandDataSetType: NO_DATA_SET }))] }),
    encodePdu({ type: PduType.AReleaseRq }),
    encodePdu({ type: PduType.AAssociateRj, result: 1, source: 1, reason: 1 }),
  ]) {
    const p = await raw();
    p.send(bytes);
    await expectAbort(p, 2, 2);
  }
  await echoWorks();
});

test('a connection closed halfway through a PDU, or that never speaks, leaves the server serving', async () => {
  const p = await raw();
  p.send(encodePdu(sampleRq()).subarray(0, 40));
  p.destroy();
  const q = await raw();
  await q.waitClosed(3000); // ARTIM (500 ms here) closes it
  await echoWorks();
});

// ---- on an association ----

test('an oversized P-DATA-TF (over the Maximum Length the server announced): A-ABORT 2/6', async () => {
  const p = await associated();
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(3, new Uint8Array(MAX_PDU + 100), false)] }));
  await expectAbort(p, 2, 6);
  await echoWorks();
});

test('an unknown PDU type, or a second A-ASSOCIATE-RQ, on an association: A-ABORT 2/1 and 2/2', async () => {
  const p = await associated();
  p.send(Uint8Array.of(0x0a, 0x00, 0x00, 0x00, 0x00, 0x00));
  await expectAbort(p, 2, 1);
  const q = await associated();
  q.send(encodePdu(sampleRq()));
  await expectAbort(q, 2, 2);
  await echoWorks();
});

test('DIMSE: a PDV on a context not proposed 2/6; a data set fragment with no command 2/5; an unreadable command set 2/6', async () => {
  const a = await associated();
  a.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(5, command({ type: 'C-ECHO-RQ', messageId: 1, affectedSopClassUid: VERIFICATION, commandDataSetType: NO_DATA_SET }))] }));
  await expectAbort(a, 2, 6);
  const b = await associated();
  b.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(3, new Uint8Array(16), false)] }));
  await expectAbort(b, 2, 5);
  const c = await associated();
  c.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 1, 2, 3))] }));
  await expectAbort(c, 2, 6);
  await echoWorks();
});

test('DIMSE: an unknown Command Field gets 0211H Unrecognized operation, and the association goes on (C-ECHO, release)', async () => {
  const p = await associated();
  // A request-shaped command (response bit clear) with a Command Field PS3.7 does not define.
  // A C-ECHO-RQ with its Command Field (0000,0100) patched from 0030H to 0FF0H.
  const view = Buffer.from(command({ type: 'C-ECHO-RQ', messageId: 7, affectedSopClassUid: VERIFICATION, commandDataSetType: NO_DATA_SET }));
  for (let at = 12; at + 8 <= view.length;) {
    const element = view.readUInt16LE(at + 2);
    const length = view.readUInt32LE(at + 4);
    if (element === 0x0100) view.writeUInt16LE(0x0ff0, at + 8);
    at += 8 + length;
  }
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, view)] }));
  // The response's Command Field is 8FF0H, which decodeCommand does not know either: read the fields.
  const pdu = await p.nextPdu();
  assert.equal(pdu.type, PduType.PDataTf);
  const rsp = decodeCommandSet(pdvsOf(pdu.body)[0]!.data);
  const us = (tag: number) => Buffer.from(rsp.bytes(tag)!).readUInt16LE(0);
  assert.deepEqual([us(0x00000100), us(0x00000120), us(0x00000900)], [0x8ff0, 7, 0x0211]);
  await echoThenRelease(p, 8);
});

test('a C-STORE whose data set is cut off by the peer\'s A-ABORT leaves no file, partial or whole', async () => {
  const p = await associated();
  const calls = storeCalls;
  const abortedOne = deferred<void>();
  server.once('aborted', () => abortedOne.resolve());
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [
    pdv(3, command({ type: 'C-STORE-RQ', messageId: 1, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: '1.2.3.4.5', priority: 0, commandDataSetType: DATA_SET_PRESENT })),
    pdv(3, new Uint8Array(1000), false, false),
  ] }));
  p.send(encodePdu({ type: PduType.AAbort, source: 0, reason: 0 }));
  await withTimeout(abortedOne.promise, 3000, 'the server to see the abort');
  await p.waitClosed(3000);
  assert.equal(storeCalls, calls + 1, 'the handler began writing the object');
  // The handler's write fails and removes its temporary file.
  await withTimeout((async () => {
    while (readdirSync(out).length > 0) await new Promise((r) => setTimeout(r, 20));
  })(), 3000, `the partial file to go: ${readdirSync(out).join(', ')}`);
  await echoWorks();
});

test('DIMSE: a C-STORE-RQ whose Affected SOP Instance UID is not a UID gets 0117H Invalid SOP Instance, nothing is stored, and the association goes on', async () => {
  const p = await associated();
  const calls = storeCalls;
  // PS3.7 §9.1.1.1.9: 0117H "the SOP Instance UID specified implied a violation of the UID construction
  // rules" (PS3.5 §9.1). encodeCommand refuses such a UID, so one of the same length is patched in.
  const bytes = Buffer.from(command({ type: 'C-STORE-RQ', messageId: 21, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: '1.2.3.4.5.6', priority: 0, commandDataSetType: DATA_SET_PRESENT }));
  const at = bytes.indexOf('1.2.3.4.5.6');
  bytes.write('../../etc/x', at, 'latin1');
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(3, bytes), pdv(3, Uint8Array.of(0x08, 0, 0x60, 0, 2, 0, 0, 0, 0x43, 0x54), false, true)] }));
  const rsp = await withTimeout(nextResponse(p), 3000, 'the C-STORE-RSP');
  assert.equal(rsp.type, 'C-STORE-RSP');
  assert.equal((rsp as { messageIdBeingRespondedTo: number }).messageIdBeingRespondedTo, 21);
  assert.equal(rsp.status, 0x0117);
  assert.equal(storeCalls, calls, 'the store handler was not called');
  assert.deepEqual(readdirSync(out), []);
  await echoThenRelease(p, 22);
});

test('DIMSE: a C-STORE-RQ whose Affected SOP Class UID is not the abstract syntax of its presentation context gets 0212H Mistyped argument, nothing is stored', async () => {
  const p = await associated();
  const calls = storeCalls;
  // PS3.7 §9.1.1.1.9, 0212H: "one of the parameters supplied has not been agreed for use on the
  // Association": context 3 was agreed for CT Image Storage, not MR Image Storage.
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [
    pdv(3, command({ type: 'C-STORE-RQ', messageId: 23, affectedSopClassUid: '1.2.840.10008.5.1.4.1.1.4', affectedSopInstanceUid: '1.2.3.4.23', priority: 0, commandDataSetType: DATA_SET_PRESENT })),
    pdv(3, Uint8Array.of(0x08, 0, 0x60, 0, 2, 0, 0, 0, 0x4d, 0x52), false, true),
  ] }));
  const rsp = await withTimeout(nextResponse(p), 3000, 'the C-STORE-RSP');
  assert.equal(rsp.type, 'C-STORE-RSP');
  assert.equal(rsp.status, 0x0212);
  assert.equal(storeCalls, calls, 'the store handler was not called');
  assert.deepEqual(readdirSync(out), []);
  await echoThenRelease(p, 24);
});

test('DIMSE: a request whose Message ID is that of an operation still outstanding gets 0210H Duplicate invocation; the first is answered as usual', async () => {
  const p = await associated();
  // PS3.7 §9.1.1.1.1: no two identical Message IDs for outstanding operations; §9.1.1.1.9, 0210H.
  const held = await heldStore(p, 5);
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, command({ type: 'C-ECHO-RQ', messageId: 5, affectedSopClassUid: VERIFICATION, commandDataSetType: NO_DATA_SET }))] }));
  const duplicate = await withTimeout(nextResponse(p), 3000, 'the answer to the duplicate');
  assert.equal(duplicate.type, 'C-ECHO-RSP');
  assert.equal((duplicate as { messageIdBeingRespondedTo: number }).messageIdBeingRespondedTo, 5);
  assert.equal(duplicate.status, 0x0210);
  held.resolve();
  const stored = await withTimeout(nextResponse(p), 3000, 'the C-STORE-RSP');
  assert.equal(stored.type, 'C-STORE-RSP');
  assert.equal(stored.status, 0x0000);
  // Answered, the Message ID is free again: the same ID on a new request is no duplicate.
  await echoThenRelease(p, 5);
  rmSync(join(out, `${HELD_INSTANCE}.dcm`));
});

test('A-RELEASE-RQ while a C-STORE is being performed: its C-STORE-RSP goes first (PS3.8 Table 9-10, Sta8 AR-7), then the A-RELEASE-RP', async () => {
  const p = await associated();
  const held = await heldStore(p, 9, encodePdu({ type: PduType.AReleaseRq }));
  assert.equal(p.pending, 0, 'nothing answered while the C-STORE is being performed');
  held.resolve();
  const stored = await withTimeout(nextResponse(p), 3000, 'the C-STORE-RSP');
  assert.equal(stored.type, 'C-STORE-RSP');
  assert.equal(stored.status, 0x0000);
  assert.equal((await p.nextPdu()).type, PduType.AReleaseRp);
  p.end();
  await p.waitClosed(3000);
  rmSync(join(out, `${HELD_INSTANCE}.dcm`));
});

test('A-RELEASE-RQ in the middle of a C-STORE data set: the C-STORE fails (nothing stored) and is answered, then the A-RELEASE-RP', async () => {
  const p = await associated();
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [
    pdv(3, command({ type: 'C-STORE-RQ', messageId: 10, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: '1.2.3.4.10', priority: 0, commandDataSetType: DATA_SET_PRESENT })),
    pdv(3, Uint8Array.of(0x08, 0, 0x60, 0, 2, 0, 0, 0, 0x43, 0x54), false, false),
  ] }));
  p.send(encodePdu({ type: PduType.AReleaseRq }));
  const failed = await withTimeout(nextResponse(p), 3000, 'the C-STORE-RSP');
  assert.equal(failed.type, 'C-STORE-RSP');
  assert.ok(failed.status !== 0x0000 && (failed.status & 0xf000) !== 0xb000, `status ${failed.status.toString(16)}`);
  assert.equal((await p.nextPdu()).type, PduType.AReleaseRp);
  p.end();
  await p.waitClosed(3000);
  assert.deepEqual(readdirSync(out), []);
});

// ---- all at once ----

test('many bad connections at once, and good ones among them: every good C-ECHO succeeds', async () => {
  const bad = Array.from({ length: 40 }, async (_, i) => {
    const variant = i % 5;
    const p = variant >= 3 ? await associated() : await raw();
    switch (variant) {
      case 0: p.send(Uint8Array.of(0x47, 0x45, 0x54, 0x20, 0x2f)); await expectAbort(p, 2, 1); break;
      case 1: p.send(encodePdu(sampleRq({ protocolVersion: 0 }))); await expectReject(p, 1, 2, 2); break;
      case 2: p.send(encodePdu({ type: PduType.AReleaseRp })); await expectAbort(p, 2, 2); break;
      case 3: p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(3, new Uint8Array(MAX_PDU + 2), false)] })); await expectAbort(p, 2, 6); break;
      default: p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, Uint8Array.of(1, 2, 3, 4))] })); await expectAbort(p, 2, 6); break;
    }
  });
  const good = Array.from({ length: 10 }, () => echoWorks());
  await Promise.all([...bad, ...good]);
  await echoWorks();
});

test('no handler failed unexpectedly along the way', () => {
  // The one store cut off by an A-ABORT may report its incomplete data set; nothing else.
  for (const e of handlerErrors) assert.match(String((e as Error).message ?? e), /ended after|incomplete|closed|aborted/i);
  assert.ok(aborted.length >= 10, `${aborted.length} aborted associations reported`);
});
