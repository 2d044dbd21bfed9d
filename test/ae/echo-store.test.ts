/**
 * Component tests of connect() and DicomServer in one process on port 0: C-ECHO; C-STORE of a
 * file, a DataSet and a byte stream, the SCP receiving exactly the data set bytes sent; transfer
 * syntax fallback (transcoding to what the peer accepted, and a clear error when it cannot be
 * done); handler failures becoming response statuses; AE title policies rejecting associations.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, proposalsFor, type StoreRequest } from '../../src/ae/index.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { ServiceError, Status } from '../../src/dimse/index.js';
import { AssociationRejectedError, RejectReason, RejectResult, RejectSource } from '../../src/upper-layer/index.js';
import {
  assertBytes, CT_IMAGE_STORAGE, EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, SECONDARY_CAPTURE, STUDY_ROOT_FIND, VERIFICATION, ctDataSet, dataSetBytesIn,
  nextEvent, parseIn, readAll, startServer, withTimeout, writeEncapsulatedPart10, writePart10, WAIT_MS,
} from './helpers.js';

interface Received {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  bytes: Uint8Array;
  callingAeTitle: string;
}

/** A store handler that keeps what it receives. */
function recorder(): { received: Received[]; store(req: StoreRequest): Promise<void> } {
  const received: Received[] = [];
  return {
    received,
    async store(req) {
      const bytes = await readAll(req.dataSet);
      received.push({ sopClassUid: req.sopClassUid, sopInstanceUid: req.sopInstanceUid, transferSyntaxUid: req.transferSyntaxUid, bytes, callingAeTitle: req.association.callingAeTitle });
    },
  };
}

/** A temporary folder, removed when the test ends. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ae-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ctProposals = proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]);

test('C-ECHO: the status is a value, Success', async () => {
  let echoes = 0;
  const { port, close } = await startServer({ aeTitle: 'ECHO-SCP', handlers: { echo: () => void echoes++ } });
  try {
    const client = await connect({ host: '127.0.0.1', port, calledAeTitle: 'ECHO-SCP' });
    const status = await client.echo();
    assert.equal(status.code, Status.Success);
    assert.equal(status.category, 'Success');
    assert.equal(status.isSuccess, true);
    assert.equal(status.service, 'C-ECHO');
    assert.equal(echoes, 1);
    // a second echo on the same association
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});

test('C-ECHO without a handler; an echo handler returning a status or throwing', async () => {
  const bare = await startServer({ aeTitle: 'BARE', handlers: {} });
  try {
    const client = await connect({ host: '127.0.0.1', port: bare.port });
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    await bare.close();
  }
  let answer: () => unknown = () => Status.Warning;
  const { port, close } = await startServer({ aeTitle: 'ECHO-SCP', handlers: { echo: () => answer() as never } });
  try {
    const client = await connect({ host: '127.0.0.1', port });
    assert.equal((await client.echo()).code, Status.Warning);
    answer = () => {
      throw new ServiceError(Status.RefusedNotAuthorized, 'not you');
    };
    const refused = await client.echo();
    assert.equal(refused.code, Status.RefusedNotAuthorized);
    assert.equal(refused.errorComment, 'not you');
    await client.release();
  } finally {
    await close();
  }
});

test('C-STORE of a file: the SCP receives the file\'s data set bytes unchanged', async (t) => {
  const dir = tempDir(t);
  const rec = recorder();
  const { port, close } = await startServer({ aeTitle: 'STORE-SCP', handlers: { store: rec.store } });
  try {
    const ds = ctDataSet();
    const path = join(dir, 'ct.dcm');
    const body = writePart10(path, ds, EXPLICIT_LE);
    const client = await connect({ host: '127.0.0.1', port, callingAeTitle: 'MODALITY', presentationContexts: ctProposals });
    const status = await client.store(path);
    assert.equal(status.code, Status.Success);
    assert.equal(status.service, 'C-STORE');
    assert.equal(rec.received.length, 1);
    const got = rec.received[0]!;
    assert.equal(got.sopClassUid, CT_IMAGE_STORAGE);
    assert.equal(got.sopInstanceUid, ds.string(0x00080018));
    assert.equal(got.transferSyntaxUid, EXPLICIT_LE);
    assert.equal(got.callingAeTitle, 'MODALITY');
    assertBytes(got.bytes, body);
    const file = readFileSync(path);
    assertBytes(got.bytes, new Uint8Array(file.subarray(file.length - body.length)));
    await client.release();
  } finally {
    await close();
  }
});

test('C-STORE of a DataSet: encoded in the accepted transfer syntax, identity taken from the data set', async () => {
  const rec = recorder();
  for (const accepted of [EXPLICIT_LE, IMPLICIT_LE]) {
    const { port, close } = await startServer({
      aeTitle: 'STORE-SCP', handlers: { store: rec.store }, abstractSyntaxes: { [CT_IMAGE_STORAGE]: [accepted] },
    });
    try {
      const ds = ctDataSet();
      const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals });
      const status = await client.store({ dataSet: ds });
      assert.equal(status.code, Status.Success);
      const got = rec.received.at(-1)!;
      assert.equal(got.transferSyntaxUid, accepted);
      assert.equal(got.sopInstanceUid, ds.string(0x00080018));
      assertBytes(got.bytes, dataSetBytesIn(ds, accepted));
      await client.release();
    } finally {
      await close();
    }
  }
});

test('C-STORE of a byte stream (chunks of odd sizes) and of bytes in memory', async () => {
  const rec = recorder();
  const { port, close } = await startServer({ aeTitle: 'STORE-SCP', handlers: { store: rec.store } });
  try {
    const ds = ctDataSet();
    const body = dataSetBytesIn(ds, EXPLICIT_LE);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let o = 0, size = 1; o < body.length; o += size, size = size * 3 + 1) yield body.subarray(o, Math.min(body.length, o + size));
    }
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals, maxPduLength: 4096 });
    const identity = { sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: ds.string(0x00080018)!, transferSyntaxUid: EXPLICIT_LE };
    assert.equal((await client.store({ stream: chunks(), ...identity })).code, Status.Success);
    assertBytes(rec.received[0]!.bytes, body);
    assert.equal((await client.store({ stream: body, ...identity })).code, Status.Success);
    assertBytes(rec.received[1]!.bytes, body);
    await client.release();
  } finally {
    await close();
  }
});

test('a stream in a transfer syntax the peer did not accept: a clear error, nothing sent, the association still usable', async () => {
  const rec = recorder();
  const { port, close } = await startServer({
    aeTitle: 'STORE-SCP', handlers: { store: rec.store }, abstractSyntaxes: { [VERIFICATION]: [IMPLICIT_LE], [CT_IMAGE_STORAGE]: [IMPLICIT_LE] },
  });
  try {
    const ds = ctDataSet();
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: [...ctProposals, { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], dimseTimeout: WAIT_MS });
    await assert.rejects(
      client.store({ stream: dataSetBytesIn(ds, EXPLICIT_LE), sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: ds.string(0x00080018)!, transferSyntaxUid: EXPLICIT_LE }),
      (e: DicomError) => e.code === 'ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX' && e.message.includes(EXPLICIT_LE),
    );
    assert.equal(rec.received.length, 0);
    assert.equal((await withTimeout(client.echo(), WAIT_MS, 'an echo after the refused store')).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});

test('transfer syntax fallback: an Explicit VR file to an SCP taking only Implicit VR for CT is transcoded; same data set after decoding', async (t) => {
  const dir = tempDir(t);
  const rec = recorder();
  const { port, close } = await startServer({
    aeTitle: 'STORE-SCP', handlers: { store: rec.store }, abstractSyntaxes: { [CT_IMAGE_STORAGE]: [IMPLICIT_LE] },
  });
  try {
    const ds = ctDataSet();
    const path = join(dir, 'explicit.dcm');
    writePart10(path, ds, EXPLICIT_LE);
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals });
    assert.deepEqual(client.association.acceptedPresentationContexts().map((pc) => pc.transferSyntax), [IMPLICIT_LE]);
    const status = await client.store(path);
    assert.equal(status.code, Status.Success);
    const got = rec.received[0]!;
    assert.equal(got.transferSyntaxUid, IMPLICIT_LE);
    assertBytes(got.bytes, dataSetBytesIn(ds, IMPLICIT_LE));
    const decoded = parseIn(got.bytes, IMPLICIT_LE);
    assertBytes(encodeDataSet(decoded, { explicitVR: true, littleEndian: true }), dataSetBytesIn(ds, EXPLICIT_LE), 'the decoded data set, re-encoded');
    await client.release();
  } finally {
    await close();
  }
});

test('a compressed file to an SCP that did not accept its transfer syntax: ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX, association still usable', async (t) => {
  const dir = tempDir(t);
  const rec = recorder();
  const { port, close } = await startServer({
    aeTitle: 'STORE-SCP', handlers: { store: rec.store },
    abstractSyntaxes: { [VERIFICATION]: [EXPLICIT_LE], [CT_IMAGE_STORAGE]: [IMPLICIT_LE] },
  });
  try {
    const jpeg = join(dir, 'jpeg.dcm');
    writeEncapsulatedPart10(jpeg, CT_IMAGE_STORAGE, '1.2.826.0.1.3680043.8.498.7', JPEG_BASELINE);
    const plain = ctDataSet();
    const plainPath = join(dir, 'plain.dcm');
    writePart10(plainPath, plain, EXPLICIT_LE);
    const client = await connect({
      host: '127.0.0.1', port, dimseTimeout: WAIT_MS,
      presentationContexts: [
        ...proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: JPEG_BASELINE }, { sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]),
        { abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] },
      ],
    });
    await assert.rejects(client.store(jpeg), (e: DicomError) => {
      assert.equal(e.code, 'ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX');
      // In words: the SOP class, what the peer took, the file's syntax named, and why it cannot go.
      assert.equal(e.message, 'the peer accepted CT Image Storage only as Implicit VR Little Endian; the file is JPEG Baseline (Process 1) '
        + `(${JPEG_BASELINE}), which Conduit cannot decompress (it has no codecs)`);
      return true;
    });
    assert.equal(rec.received.length, 0);
    assert.equal((await withTimeout(client.echo(), WAIT_MS, 'an echo after the refused store')).code, Status.Success);
    assert.equal((await withTimeout(client.store(plainPath), WAIT_MS, 'a store after the refused one')).code, Status.Success);
    assert.equal(rec.received.length, 1);
    await assert.rejects(client.store({ dataSet: ctDataSet(undefined, SECONDARY_CAPTURE) }), (e: DicomError) =>
      e.code === 'ERR_DICOM_INVALID_ARGUMENT'
      && e.message === `the peer accepted no presentation context for SOP class Secondary Capture Image Storage (${SECONDARY_CAPTURE}): none was proposed`);
    await client.release();
  } finally {
    await close();
  }
});

test('a handler throwing ServiceError(A700, "disk full"): the SCU gets code A700, category Failure, Error Comment "disk full"', async () => {
  const errors: unknown[] = [];
  const { server, port, close } = await startServer({
    aeTitle: 'STORE-SCP',
    handlers: {
      async store(req) {
        for await (const _ of req.dataSet) break; // read a little, leave the rest
        throw new ServiceError(0xa700, 'disk full');
      },
    },
  });
  server.on('handlerError', (e) => errors.push(e));
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals });
    const status = await client.store({ dataSet: ctDataSet() });
    assert.equal(status.code, 0xa700);
    assert.equal(status.category, 'Failure');
    assert.equal(status.isFailure, true);
    assert.equal(status.errorComment, 'disk full');
    assert.match(status.description, /^A700H Refused: Out of Resources.*disk full/);
    assert.deepEqual(errors, [], 'a ServiceError is an answer, not a handler failure');
    await client.release();
  } finally {
    await close();
  }
});

test('a handler returning { status, errorComment }: sent as they are', async () => {
  const { port, close } = await startServer({
    aeTitle: 'STORE-SCP',
    handlers: {
      async store(req) {
        await readAll(req.dataSet);
        return { status: Status.WarningCoercionOfDataElements, errorComment: 'coerced (0010,0010)' };
      },
    },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals });
    const status = await client.store({ dataSet: ctDataSet() });
    assert.equal(status.code, 0xb000);
    assert.equal(status.category, 'Warning');
    assert.equal(status.isCompleted, true);
    assert.equal(status.errorComment, 'coerced (0010,0010)');
    await client.release();
  } finally {
    await close();
  }
});

test('a handler throwing a plain Error: Failure 0110 without the message, handlerError emitted, the server keeps serving', async () => {
  const rec = recorder();
  let fail = true;
  const { server, port, close } = await startServer({
    aeTitle: 'STORE-SCP',
    handlers: {
      async store(req) {
        if (fail) throw new Error('EACCES: /var/lib/secret/path');
        await rec.store(req);
      },
    },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals });
    const handlerError = nextEvent<[unknown, { callingAeTitle: string }]>(server, 'handlerError');
    const status = await client.store({ dataSet: ctDataSet() });
    assert.equal(status.code, Status.ProcessingFailure);
    assert.equal(status.category, 'Failure');
    assert.equal(status.errorComment, undefined, 'a plain error\'s message may name local paths: not sent');
    const [error, info] = await handlerError;
    assert.match((error as Error).message, /EACCES/);
    assert.equal(info.callingAeTitle, 'CONDUIT');
    // the same association, then a new one
    fail = false;
    assert.equal((await client.store({ dataSet: ctDataSet() })).code, Status.Success);
    await client.release();
    const again = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals });
    assert.equal((await again.store({ dataSet: ctDataSet() })).code, Status.Success);
    assert.equal(rec.received.length, 2);
    await again.release();
  } finally {
    await close();
  }
});

/** One C-FIND (Study Root, STUDY level) on a new association; the association is left open. */
async function findStudies(port: number) {
  const client = await connect({ host: '127.0.0.1', port, presentationContexts: [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: [EXPLICIT_LE] }] });
  const pc = client.association.findPresentationContext(STUDY_ROOT_FIND)!;
  const identifier = new DataSet();
  identifier.set(0x00080052, 'CS', 'STUDY');
  const rsp = await client.dimse.requestOne({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: 0 } as never, pc.id, dataSetBytesIn(identifier, EXPLICIT_LE));
  return { client, rsp };
}

test('a generic request handler throwing: C-FIND answered with its own failure (C000, Unable to process), not C-STORE\'s 0110', async () => {
  const { server, port, close } = await startServer({
    aeTitle: 'QR-SCP',
    abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE] },
    handlers: {
      async request() {
        throw new Error('index unavailable');
      },
    },
  });
  server.on('handlerError', () => undefined);
  try {
    const { client, rsp } = await findStudies(port);
    assert.equal(rsp.status.code, Status.UnableToProcess);
    assert.equal(rsp.status.service, 'C-FIND');
    await client.release();
  } finally {
    await close();
  }
});

test('a response that cannot be encoded: respond() rejects (it does not throw), and the request is still answered with the service\'s failure', async () => {
  let outcome: 'threw' | 'rejected' | 'resolved' | undefined;
  const { server, port, close } = await startServer({
    aeTitle: 'QR-SCP',
    abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE] },
    handlers: {
      async request({ request, respond }) {
        request.dataSet?.discard();
        let sent: Promise<void>;
        try {
          // A status outside 16 bits (US, PS3.7 Table E.1-1) cannot be encoded.
          sent = respond({ status: 0x12345 });
        } catch {
          outcome = 'threw';
          throw new Error('respond threw');
        }
        outcome = await sent.then(() => 'resolved' as const, () => 'rejected' as const);
        throw new Error('no response sent');
      },
    },
  });
  server.on('handlerError', () => undefined);
  try {
    const { client, rsp } = await findStudies(port);
    assert.equal(outcome, 'rejected');
    assert.equal(rsp.status.code, Status.UnableToProcess);
    await client.release();
  } finally {
    await close();
  }
});

test('an echo handler returning a status that cannot be encoded: Failure 0110, handlerError emitted, the association still usable', async () => {
  let status = 0x12345;
  const { server, port, close } = await startServer({ aeTitle: 'ECHO-SCP', handlers: { echo: () => status } });
  try {
    const client = await connect({ host: '127.0.0.1', port });
    const handlerError = nextEvent<[unknown]>(server, 'handlerError');
    assert.equal((await client.echo()).code, Status.ProcessingFailure);
    assert.match(String((await handlerError)[0]), /not a 16-bit unsigned integer/);
    status = Status.Success;
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});

test('strict Called AE Title: another title is rejected permanently, reason 7 (called-AE-title-not-recognized)', async () => {
  const { server, port, close } = await startServer({ aeTitle: 'STRICT-SCP', strictCalledAeTitle: true, handlers: {} });
  try {
    const rejected = nextEvent<[string, string | undefined]>(server, 'rejected');
    await assert.rejects(connect({ host: '127.0.0.1', port, callingAeTitle: 'SENDER', calledAeTitle: 'SOMEONE-ELSE' }), (e: AssociationRejectedError) => {
      assert.ok(e instanceof AssociationRejectedError);
      assert.equal(e.code, 'ERR_DICOM_ASSOCIATION_REJECTED');
      assert.equal(e.result, RejectResult.RejectedPermanent);
      assert.equal(e.source, RejectSource.ServiceUser);
      assert.equal(e.reason, RejectReason.CalledAeTitleNotRecognized);
      assert.match(e.message, /called-AE-title-not-recognized/);
      return true;
    });
    const [reason, calling] = await rejected;
    assert.match(reason, /reason 7/);
    assert.equal(calling?.trim(), 'SENDER');
    const ok = await connect({ host: '127.0.0.1', port, calledAeTitle: 'STRICT-SCP' });
    assert.equal((await ok.echo()).code, Status.Success);
    await ok.release();
  } finally {
    await close();
  }
  // not strict (the default): any called title is answered, as storescp does
  const lax = await startServer({ aeTitle: 'LAX-SCP', handlers: {} });
  try {
    const ok = await connect({ host: '127.0.0.1', port: lax.port, calledAeTitle: 'WHATEVER' });
    assert.equal((await ok.echo()).code, Status.Success);
    await ok.release();
  } finally {
    await lax.close();
  }
});

test('allowedCallingAeTitles: another calling title is rejected with reason 3; a listed one is accepted', async () => {
  const { port, close } = await startServer({ aeTitle: 'SCP', allowedCallingAeTitles: ['GOOD-SCU', 'OTHER'], handlers: {} });
  try {
    await assert.rejects(connect({ host: '127.0.0.1', port, callingAeTitle: 'BAD-SCU' }), (e: AssociationRejectedError) => {
      assert.ok(e instanceof AssociationRejectedError);
      assert.equal(e.result, RejectResult.RejectedPermanent);
      assert.equal(e.source, RejectSource.ServiceUser);
      assert.equal(e.reason, RejectReason.CallingAeTitleNotRecognized);
      return true;
    });
    const ok = await connect({ host: '127.0.0.1', port, callingAeTitle: 'GOOD-SCU' });
    assert.equal((await ok.echo()).code, Status.Success);
    await ok.release();
  } finally {
    await close();
  }
});

test('an SCP with no store handler does not accept Storage SOP Classes', async () => {
  const { port, close } = await startServer({ aeTitle: 'ECHO-ONLY', handlers: {} });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: [...ctProposals, { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] });
    // The peer's Result/Reason (PS3.8 Table 9-18), not only that there was no context.
    await assert.rejects(client.store({ dataSet: ctDataSet() }), (e: DicomError) => e.code === 'ERR_DICOM_SOP_CLASS_NOT_SUPPORTED'
      && e.message === `the peer accepted no presentation context for SOP class CT Image Storage (${CT_IMAGE_STORAGE}): rejected with result 3 (abstract-syntax-not-supported): the peer does not support this SOP class`);
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});

test('an SCP that takes the SOP class in none of the transfer syntaxes proposed: result 4, ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX naming them', async () => {
  const { port, close } = await startServer({ aeTitle: 'JPEG-ONLY', handlers: { store: () => Status.Success }, abstractSyntaxes: { [VERIFICATION]: [IMPLICIT_LE], [CT_IMAGE_STORAGE]: [JPEG_BASELINE] } });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: [{ abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE] }, { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] });
    await assert.rejects(client.store({ dataSet: ctDataSet() }), (e: DicomError) => {
      assert.equal(e.code, 'ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX');
      assert.equal(e.message, `the peer accepted no presentation context for SOP class CT Image Storage (${CT_IMAGE_STORAGE}): rejected with result 4 (transfer-syntaxes-not-supported): `
        + `the peer supports this SOP class but none of the transfer syntaxes proposed (Explicit VR Little Endian (${EXPLICIT_LE}), Implicit VR Little Endian (${IMPLICIT_LE}))`);
      return true;
    });
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});

for (const synchronousFileReads of [false, true]) {
  test(`C-STORE of several files larger than the reused read buffers, back to back (${synchronousFileReads ? 'synchronous' : 'thread-pool'} reads): every data set unchanged`, async (t) => {
    const dir = tempDir(t);
    const rec = recorder();
    const { port, close } = await startServer({ aeTitle: 'STORE-SCP', handlers: { store: rec.store } });
    try {
      // 2.5 MiB of pixel data: three reads through two 1 MiB buffers per file, and the buffers pass
      // from one file to the next; each file's bytes differ, so a buffer refilled too early shows.
      const files: Array<{ path: string; body: Uint8Array }> = [];
      for (let f = 0; f < 4; f++) {
        const ds = ctDataSet();
        const pixels = new Uint8Array(2.5 * 1024 * 1024 + 2 * f);
        for (let i = 0; i < pixels.length; i++) pixels[i] = (i * (f + 3) + (i >> 12)) & 0xff;
        ds.set(0x7fe00010, 'OB', pixels);
        const path = join(dir, `big${f}.dcm`);
        files.push({ path, body: writePart10(path, ds, EXPLICIT_LE) });
      }
      const client = await connect({ host: '127.0.0.1', port, presentationContexts: ctProposals, synchronousFileReads, maxPduLength: 16384 });
      for (const f of files) assert.equal((await client.store(f.path)).code, Status.Success);
      assert.equal(rec.received.length, files.length);
      for (const [i, f] of files.entries()) assertBytes(rec.received[i]!.bytes, f.body, `file ${i}`);
      await client.release();
    } finally {
      await close();
    }
  });
}
