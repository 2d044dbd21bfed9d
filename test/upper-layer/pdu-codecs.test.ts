/**
 * PDU and item codecs: round trips of every PDU and sub-item, byte layouts checked against the
 * offset tables of PS3.8 §9.3 / PS3.7 D.3.3, and decode errors with their A-ABORT reasons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AbortReason, PduError, PduType, decodePdu, encodePdu, encodePDataTf, encodePDataTfParts, decodePDataTf, encodeAAssociateRq,
  decodeAAssociateRq, encodeAAssociateAc, decodeAAssociateAc, encodeAAbort, encodeAAssociateRj, encodeAReleaseRq, encodeAReleaseRp,
  PDU_HEADER_LENGTH, emptyUserInformation, PROTOCOL_VERSION, DICOM_APPLICATION_CONTEXT_NAME,
} from '../../src/upper-layer/index.js';
import type { AAssociateAc, Pdu } from '../../src/upper-layer/index.js';
import { DicomError } from '../../src/core/dicom-error.js';
import {
  CT_IMAGE_STORAGE, IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION, ascii, fullRq, hexBytes, pdv, plain, sampleAc, sampleRq,
} from './fixtures.js';

function body(pdu: Uint8Array): Uint8Array {
  return pdu.subarray(PDU_HEADER_LENGTH);
}

function roundTrip(pdu: Pdu): Pdu {
  const bytes = encodePdu(pdu);
  assert.equal(bytes[0], pdu.type);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(2), bytes.length - 6, 'PDU-length counts the bytes after the header');
  return decodePdu(bytes[0]!, body(bytes));
}

function expectPduError(fn: () => unknown, reason: number, code?: string): PduError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PduError, `expected PduError, got ${String(e)}`);
    assert.ok(e instanceof DicomError);
    assert.equal(e.abortReason, reason, e.message);
    if (code !== undefined) assert.equal(e.code, code);
    return e;
  }
  assert.fail('expected a PduError');
}

test('A-ASSOCIATE-RQ round trip with every item and sub-item', () => {
  const rq = fullRq();
  assert.deepEqual(plain(roundTrip(rq)), plain(rq));
});

test('A-ASSOCIATE-AC round trip, with rejected contexts, role answers, user identity response and extended negotiation', () => {
  const ac: AAssociateAc = sampleAc();
  ac.presentationContexts = [
    { id: 1, result: 0, transferSyntax: IMPLICIT_LE },
    { id: 3, result: 4, transferSyntax: '' },
    { id: 5, result: 3, transferSyntax: IMPLICIT_LE },
  ];
  ac.userInformation.roleSelections = [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: false, scpRole: true }];
  ac.userInformation.asynchronousOperationsWindow = { maximumNumberOperationsInvoked: 1, maximumNumberOperationsPerformed: 1 };
  ac.userInformation.userIdentityResponse = { serverResponse: Uint8Array.of(0xaa, 0xbb) };
  ac.userInformation.sopClassExtendedNegotiations = [{ sopClassUid: CT_IMAGE_STORAGE, serviceClassApplicationInformation: Uint8Array.of(1) }];
  assert.deepEqual(plain(roundTrip(ac)), plain(ac));
});

test('A-ASSOCIATE-RJ, A-RELEASE-RQ/RP, A-ABORT and P-DATA-TF round trips', () => {
  for (const pdu of [
    { type: PduType.AAssociateRj, result: 1, source: 2, reason: 2 },
    { type: PduType.AAssociateRj, result: 2, source: 3, reason: 2 },
    { type: PduType.AReleaseRq },
    { type: PduType.AReleaseRp },
    { type: PduType.AAbort, source: 0, reason: 0 },
    { type: PduType.AAbort, source: 2, reason: 6 },
    { type: PduType.PDataTf, presentationDataValues: [pdv(1, [1, 2, 3]), pdv(3, [], false, false), pdv(255, new Uint8Array(5000).fill(7), false, true)] },
  ] as Pdu[]) {
    assert.deepEqual(plain(roundTrip(pdu)), plain(pdu));
  }
});

test('A-ASSOCIATE-RQ bytes follow PS3.8 Table 9-11 and Tables 9-12 to 9-16, Annex D.1, PS3.7 D.3.3.2', () => {
  const ui = emptyUserInformation();
  ui.maximumLength = 0x4000;
  ui.implementationClassUid = IMPLEMENTATION_UID;
  const rq = sampleRq({
    presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    userInformation: ui,
  });
  const expected = Uint8Array.from([
    0x01, 0x00, 0x00, 0x00, 0x00, 0xba, // PDU-type 01H, reserved, PDU-length 186
    0x00, 0x01, 0x00, 0x00, // protocol version 1, reserved
    ...ascii('ANY-SCP         '), ...ascii('ECHOSCU         '),
    ...new Array<number>(32).fill(0),
    0x10, 0x00, 0x00, 0x15, ...ascii(DICOM_APPLICATION_CONTEXT_NAME),
    0x20, 0x00, 0x00, 0x2e, 0x01, 0x00, 0x00, 0x00,
    0x30, 0x00, 0x00, 0x11, ...ascii(VERIFICATION),
    0x40, 0x00, 0x00, 0x11, ...ascii(IMPLICIT_LE),
    0x50, 0x00, 0x00, 0x27,
    0x51, 0x00, 0x00, 0x04, 0x00, 0x00, 0x40, 0x00,
    0x52, 0x00, 0x00, 0x1b, ...ascii(IMPLEMENTATION_UID),
  ]);
  assert.deepEqual(Array.from(encodeAAssociateRq(rq)), Array.from(expected));
  assert.deepEqual(plain(decodeAAssociateRq(body(expected))), plain(rq));
});

test('A-ASSOCIATE-AC presentation context item: PS3.8 Table 9-18 (result at byte 7)', () => {
  const ac = sampleAc(sampleRq({ presentationContexts: [{ id: 7, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] }));
  ac.presentationContexts[0]!.result = 0;
  const bytes = encodeAAssociateAc(ac);
  const at = 74 + 4 + DICOM_APPLICATION_CONTEXT_NAME.length;
  assert.deepEqual(Array.from(bytes.subarray(at, at + 12)), [0x21, 0, 0, 25, 7, 0, 0, 0, 0x40, 0, 0, 17]);
  assert.equal(bytes[1], 0);
  assert.equal(bytes[0], 0x02);
});

test('fixed-size PDUs match PS3.8 Tables 9-21, 9-24, 9-25, 9-26 byte for byte', () => {
  assert.deepEqual(Array.from(encodeAAssociateRj({ type: PduType.AAssociateRj, result: 1, source: 2, reason: 2 })), [3, 0, 0, 0, 0, 4, 0, 1, 2, 2]);
  assert.deepEqual(Array.from(encodeAReleaseRq()), [5, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(encodeAReleaseRp()), [6, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(encodeAAbort({ type: PduType.AAbort, source: 2, reason: 1 })), [7, 0, 0, 0, 0, 4, 0, 0, 2, 1]);
});

test('P-DATA-TF bytes follow PS3.8 Table 9-22, 9-23 and Annex E.2 (message control header bits)', () => {
  const bytes = encodePDataTf([pdv(1, [0xaa, 0xbb], true, false), pdv(3, [0xcc], false, true)]);
  assert.deepEqual(Array.from(bytes), [
    0x04, 0x00, 0x00, 0x00, 0x00, 0x0f,
    0x00, 0x00, 0x00, 0x04, 0x01, 0x01, 0xaa, 0xbb, // command, not last
    0x00, 0x00, 0x00, 0x03, 0x03, 0x02, 0xcc, // data set, last
  ]);
  const decoded = decodePDataTf(bytes.subarray(6));
  assert.deepEqual(decoded.presentationDataValues.map((p) => [p.presentationContextId, p.isCommand, p.isLast, Array.from(p.data)]),
    [[1, true, false, [0xaa, 0xbb]], [3, false, true, [0xcc]]]);
});

test('P-DATA-TF decoding gives views into the received bytes (no copy)', () => {
  const bytes = encodePDataTf([pdv(1, new Uint8Array(100).fill(1)), pdv(1, new Uint8Array(10).fill(2))]);
  const pdvs = decodePDataTf(bytes.subarray(6)).presentationDataValues;
  assert.equal(pdvs[0]!.data.buffer, bytes.buffer);
  assert.equal(pdvs[0]!.data.byteOffset, bytes.byteOffset + 12);
  assert.equal(pdvs[1]!.data.buffer, bytes.buffer);
});

test('encodePDataTfParts: large payloads are the callers own views, small ones are copied next to the headers', () => {
  const big = new Uint8Array(64 * 1024).fill(9);
  const small = Uint8Array.of(1, 2, 3);
  const parts = encodePDataTfParts([pdv(1, small, true, true), pdv(3, big, false, false), pdv(3, small, false, true)]);
  assert.equal(parts.length, 3);
  assert.equal(parts[1], big, 'the big payload is passed through, not copied');
  assert.deepEqual(parts.reduce((n, p) => n + p.length, 0), 6 + 3 * 6 + 3 + big.length + 3);
  const joined = Buffer.concat(parts);
  assert.deepEqual(Array.from(joined), Array.from(encodePDataTf([pdv(1, small, true, true), pdv(3, big, false, false), pdv(3, small, false, true)])));
  assert.equal(encodePDataTfParts([pdv(1, small)]).length, 1, 'a small PDU is one buffer');
});

test('AE titles: space padding and leading spaces are not significant; trailing NULs of UIDs are dropped', () => {
  const rq = sampleRq();
  const bytes = encodeAAssociateRq(rq);
  bytes.set(ascii('  LEAD  '.padEnd(16, ' ')), 10);
  const decoded = decodeAAssociateRq(bytes.subarray(6));
  assert.equal(decoded.calledAeTitle, 'LEAD');
  // A peer that pads UIDs to even length with NUL (as in data sets) must still be understood.
  const padded = sampleRq({ applicationContextName: DICOM_APPLICATION_CONTEXT_NAME + '\0' });
  assert.equal(decodeAAssociateRq(encodeAAssociateRq(padded).subarray(6)).applicationContextName, DICOM_APPLICATION_CONTEXT_NAME);
});

test('unknown items and sub-items are skipped and kept (PS3.8 §9.3.1)', () => {
  const rq = fullRq();
  const decoded = decodeAAssociateRq(encodeAAssociateRq(rq).subarray(6));
  assert.deepEqual(plain(decoded.unknownItems), [{ type: 0x60, data: [1, 2] }]);
  assert.deepEqual(plain(decoded.userInformation.unknownSubItems), [{ type: 0x5f, data: [9, 8, 7] }]);
});

test('an AC leaving out the transfer syntax sub-item of a rejected context decodes (it is not significant)', () => {
  const bytes = hexBytes('21 00 00 04 03 00 03 00');
  const ac = sampleAc();
  ac.presentationContexts = [];
  const enc = encodeAAssociateAc(ac);
  const withItem = new Uint8Array(enc.length + bytes.length);
  withItem.set(enc.subarray(0, 74 + 25));
  withItem.set(bytes, 74 + 25);
  withItem.set(enc.subarray(74 + 25), 74 + 25 + bytes.length);
  new DataView(withItem.buffer).setUint32(2, withItem.length - 6);
  const decoded = decodeAAssociateAc(withItem.subarray(6));
  assert.deepEqual(decoded.presentationContexts, [{ id: 3, result: 3, transferSyntax: '' }]);
});

test('encode refuses what cannot go in the fields', () => {
  assert.throws(() => encodeAAssociateRq(sampleRq({ calledAeTitle: 'A_TITLE_LONGER_THAN_16' })), (e: DicomError) => e.code === 'ERR_DICOM_INVALID_ARGUMENT');
  const rq = sampleRq();
  rq.userInformation.implementationVersionName = 'X'.repeat(17);
  assert.throws(() => encodeAAssociateRq(rq), (e: DicomError) => e.code === 'ERR_DICOM_INVALID_ARGUMENT');
  const huge = sampleRq();
  huge.userInformation.userIdentity = { userIdentityType: 5, positiveResponseRequested: false, primaryField: new Uint8Array(70000), secondaryField: new Uint8Array(0) };
  assert.throws(() => encodeAAssociateRq(huge), (e: DicomError) => e.code === 'ERR_DICOM_INVALID_ARGUMENT');
});

// --- decode errors and their A-ABORT reasons (PS3.8 Table 9-26) ---

function rqBody(): Uint8Array {
  return encodeAAssociateRq(sampleRq()).slice(6);
}

test('an unknown PDU type is reason 1 (unrecognized PDU)', () => {
  expectPduError(() => decodePdu(0x08, new Uint8Array(4)), AbortReason.UnrecognizedPdu, 'ERR_DICOM_PDU_UNRECOGNIZED');
  expectPduError(() => decodePdu(0x47, new Uint8Array(4)), AbortReason.UnrecognizedPdu);
});

test('fixed-size PDUs with the wrong length are reason 6', () => {
  for (const t of [3, 5, 6, 7]) expectPduError(() => decodePdu(t, new Uint8Array(5)), AbortReason.InvalidPduParameterValue, 'ERR_DICOM_PDU_INVALID_PARAMETER');
});

test('reserved values in A-ASSOCIATE-RJ and A-ABORT are reason 4 (unrecognized PDU parameter)', () => {
  expectPduError(() => decodePdu(3, Uint8Array.of(0, 3, 1, 1)), AbortReason.UnrecognizedPduParameter, 'ERR_DICOM_PDU_UNRECOGNIZED_PARAMETER');
  expectPduError(() => decodePdu(3, Uint8Array.of(0, 1, 4, 1)), AbortReason.UnrecognizedPduParameter);
  expectPduError(() => decodePdu(7, Uint8Array.of(0, 0, 3, 0)), AbortReason.UnrecognizedPduParameter);
  expectPduError(() => decodePdu(2, (() => {
    const ac = sampleAc();
    ac.presentationContexts[0]!.result = 9;
    return encodeAAssociateAc(ac).slice(6);
  })()), AbortReason.UnrecognizedPduParameter);
});

test('an item running past its PDU is reason 6, with the offset', () => {
  const b = rqBody();
  const truncated = b.subarray(0, b.length - 3);
  const e = expectPduError(() => decodeAAssociateRq(truncated), AbortReason.InvalidPduParameterValue);
  assert.ok(e.offset !== undefined && e.offset > 74, `offset ${e.offset}`);
});

test('a Presentation Context Item of the AC form in an RQ is reason 5 (unexpected PDU parameter)', () => {
  const b = rqBody();
  const at = 68 + 4 + DICOM_APPLICATION_CONTEXT_NAME.length;
  assert.equal(b[at], 0x20);
  b[at] = 0x21;
  expectPduError(() => decodeAAssociateRq(b), AbortReason.UnexpectedPduParameter, 'ERR_DICOM_PDU_UNEXPECTED_PARAMETER');
});

test('a second Application Context Item is reason 5; a missing one is reason 6', () => {
  const rq = sampleRq();
  rq.unknownItems = [{ type: 0x10, data: Uint8Array.from(ascii(DICOM_APPLICATION_CONTEXT_NAME)) }];
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(rq).subarray(6)), AbortReason.UnexpectedPduParameter);
  const b = rqBody();
  const at = 68;
  b[at] = 0x11; // now an unknown item
  expectPduError(() => decodeAAssociateRq(b), AbortReason.InvalidPduParameterValue);
});

test('an even or repeated presentation context ID is reason 6', () => {
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(sampleRq({
    presentationContexts: [{ id: 2, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
  })).subarray(6)), AbortReason.InvalidPduParameterValue);
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(sampleRq({
    presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }, { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
  })).subarray(6)), AbortReason.InvalidPduParameterValue);
});

test('a presentation context without transfer syntax, or an RQ without presentation context, is reason 6', () => {
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(sampleRq({
    presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [] }],
  })).subarray(6)), AbortReason.InvalidPduParameterValue);
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(sampleRq({ presentationContexts: [] })).subarray(6)), AbortReason.InvalidPduParameterValue);
});

test('a Maximum Length sub-item whose length is not 4, or a repeated one, is a bad parameter', () => {
  const rq = sampleRq();
  rq.userInformation.unknownSubItems = [{ type: 0x51, data: Uint8Array.of(0, 0, 0, 0, 0) }];
  delete rq.userInformation.maximumLength;
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(rq).subarray(6)), AbortReason.InvalidPduParameterValue);
  const twice = sampleRq();
  twice.userInformation.unknownSubItems = [{ type: 0x51, data: Uint8Array.of(0, 0, 0, 0) }];
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(twice).subarray(6)), AbortReason.UnexpectedPduParameter);
});

test('role selection values other than 0/1 are reason 6', () => {
  const rq = sampleRq();
  rq.userInformation.unknownSubItems = [{ type: 0x54, data: Uint8Array.from([0, 3, ...ascii('1.2'), 2, 0]) }];
  expectPduError(() => decodeAAssociateRq(encodeAAssociateRq(rq).subarray(6)), AbortReason.InvalidPduParameterValue);
});

test('P-DATA-TF: empty, short or overlong PDV items are reason 6', () => {
  expectPduError(() => decodePDataTf(new Uint8Array(0)), AbortReason.InvalidPduParameterValue);
  expectPduError(() => decodePDataTf(Uint8Array.of(0, 0, 0, 1, 1)), AbortReason.InvalidPduParameterValue);
  expectPduError(() => decodePDataTf(Uint8Array.of(0, 0, 0, 1, 1, 3)), AbortReason.InvalidPduParameterValue);
  expectPduError(() => decodePDataTf(Uint8Array.of(0, 0, 0, 9, 1, 3, 0, 0)), AbortReason.InvalidPduParameterValue);
  expectPduError(() => decodePDataTf(Uint8Array.of(0, 0, 0, 2, 1, 3, 0)), AbortReason.InvalidPduParameterValue);
});

test('the user identity sub-items decode per PS3.7 D.3.3.7', () => {
  const rq = sampleRq();
  rq.userInformation.userIdentity = { userIdentityType: 1, positiveResponseRequested: false, primaryField: Uint8Array.from(ascii('bob')), secondaryField: new Uint8Array(0) };
  const bytes = encodeAAssociateRq(rq);
  const i = Buffer.from(bytes).indexOf(Buffer.from([0x58, 0x00]));
  assert.deepEqual(Array.from(bytes.subarray(i, i + 13)), [0x58, 0, 0, 9, 1, 0, 0, 3, ...ascii('bob'), 0, 0]);
  assert.equal(PROTOCOL_VERSION, 1);
});
