/** Property-based round trips (fast-check): decode(encode(x)) equals x for arbitrary PDUs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PduType, decodePdu, encodePdu, encodePDataTfGroupParts, encodePDataTfParts, PDU_HEADER_LENGTH } from '../../src/upper-layer/index.js';
import type { AAssociateAc, AAssociateRq, Pdu, PresentationDataValue, UserInformation } from '../../src/upper-layer/index.js';
import { concat, plain } from './fixtures.js';

const uid = fc.array(fc.integer({ min: 0, max: 99999 }), { minLength: 2, maxLength: 8 }).map((parts) => parts.join('.')).filter((s) => s.length <= 64);
// AE titles as decoded: no leading/trailing spaces, 1-16 characters of ISO 646 without backslash.
const aeTitle = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- '.split('')), minLength: 1, maxLength: 16 })
  .map((s) => s.trim()).filter((s) => s.length > 0);
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const u16 = fc.integer({ min: 0, max: 0xffff });

const userInformation = (side: 'rq' | 'ac'): fc.Arbitrary<UserInformation> => fc.record({
  maximumLength: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
  implementationClassUid: fc.option(uid, { nil: undefined }),
  implementationVersionName: fc.option(fc.string({ unit: fc.constantFrom(...'ABCXYZ_0189.'.split('')), minLength: 1, maxLength: 16 }), { nil: undefined }),
  asynchronousOperationsWindow: fc.option(fc.record({ maximumNumberOperationsInvoked: u16, maximumNumberOperationsPerformed: u16 }), { nil: undefined }),
  roleSelections: fc.array(fc.record({ sopClassUid: uid, scuRole: fc.boolean(), scpRole: fc.boolean() }), { maxLength: 3 }),
  sopClassExtendedNegotiations: fc.array(fc.record({ sopClassUid: uid, serviceClassApplicationInformation: bytes(8) }), { maxLength: 3 }),
  sopClassCommonExtendedNegotiations: side === 'rq'
    ? fc.array(fc.record({ sopClassUid: uid, serviceClassUid: uid, relatedGeneralSopClassUids: fc.array(uid, { maxLength: 3 }) }), { maxLength: 2 })
    : fc.constant([]),
  userIdentity: side === 'rq'
    ? fc.option(fc.record({ userIdentityType: fc.integer({ min: 1, max: 5 }), positiveResponseRequested: fc.boolean(), primaryField: bytes(40), secondaryField: bytes(20) }), { nil: undefined })
    : fc.constant(undefined),
  userIdentityResponse: side === 'ac' ? fc.option(fc.record({ serverResponse: bytes(40) }), { nil: undefined }) : fc.constant(undefined),
  unknownSubItems: fc.array(fc.record({ type: fc.integer({ min: 0x5a, max: 0xff }), data: bytes(10) }), { maxLength: 2 }),
}).map((ui) => {
  // Absent sub-items are absent properties in decoded PDUs.
  const out = { ...ui } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as UserInformation;
});

const oddIds = fc.uniqueArray(fc.integer({ min: 0, max: 127 }).map((n) => n * 2 + 1), { minLength: 1, maxLength: 6 });
const unknownItems = fc.array(fc.record({ type: fc.constantFrom(0x11, 0x60, 0x7f, 0xff), data: bytes(6) }), { maxLength: 2 });

const rq: fc.Arbitrary<AAssociateRq> = fc.record({
  protocolVersion: u16, calledAeTitle: aeTitle, callingAeTitle: aeTitle, applicationContextName: uid,
  ids: oddIds, syntaxes: fc.array(fc.tuple(uid, fc.array(uid, { minLength: 1, maxLength: 4 })), { minLength: 6, maxLength: 6 }),
  userInformation: userInformation('rq'), unknownItems,
}).map(({ ids, syntaxes, ...r }) => ({
  type: PduType.AAssociateRq,
  ...r,
  presentationContexts: ids.map((id, i) => ({ id, abstractSyntax: syntaxes[i]![0], transferSyntaxes: syntaxes[i]![1] })),
}));

const ac: fc.Arbitrary<AAssociateAc> = fc.record({
  protocolVersion: u16, calledAeTitle: aeTitle, callingAeTitle: aeTitle, applicationContextName: uid,
  ids: fc.uniqueArray(fc.integer({ min: 0, max: 127 }).map((n) => n * 2 + 1), { maxLength: 6 }),
  results: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), uid), { minLength: 6, maxLength: 6 }),
  userInformation: userInformation('ac'), unknownItems,
}).map(({ ids, results, ...r }) => ({
  type: PduType.AAssociateAc,
  ...r,
  presentationContexts: ids.map((id, i) => ({ id, result: results[i]![0], transferSyntax: results[i]![1] })),
}));

const pdvArb: fc.Arbitrary<PresentationDataValue> = fc.record({
  presentationContextId: fc.integer({ min: 0, max: 255 }), isCommand: fc.boolean(), isLast: fc.boolean(), data: bytes(3000),
});

const pdu: fc.Arbitrary<Pdu> = fc.oneof(
  rq,
  ac,
  fc.record({ type: fc.constant(PduType.AAssociateRj), result: fc.constantFrom(1, 2), source: fc.constantFrom(1, 2, 3), reason: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ type: fc.constant(PduType.PDataTf), presentationDataValues: fc.array(pdvArb, { minLength: 1, maxLength: 5 }) }),
  fc.constant({ type: PduType.AReleaseRq }),
  fc.constant({ type: PduType.AReleaseRp }),
  fc.record({ type: fc.constant(PduType.AAbort), source: fc.constantFrom(0, 1, 2), reason: fc.integer({ min: 0, max: 255 }) }),
) as fc.Arbitrary<Pdu>;

test('decode(encode(pdu)) is pdu, for arbitrary PDUs of every type', () => {
  fc.assert(fc.property(pdu, (p) => {
    const b = encodePdu(p);
    assert.deepEqual(plain(decodePdu(b[0]!, b.subarray(PDU_HEADER_LENGTH))), plain(p));
  }), { numRuns: 500 });
});

test('encodePDataTfParts, joined, is the single-buffer encoding, whatever the copy threshold', () => {
  fc.assert(fc.property(fc.array(pdvArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 4000 }), (pdvs, threshold) => {
    const joined = concat(...encodePDataTfParts(pdvs, threshold));
    const single = encodePdu({ type: PduType.PDataTf, presentationDataValues: pdvs });
    assert.deepEqual(joined, single);
  }), { numRuns: 300 });
});

test('encodePDataTfGroupParts, joined, is the PDUs encoded one by one back to back, whatever the copy threshold', () => {
  fc.assert(fc.property(fc.array(fc.array(pdvArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 4000 }), (pdus, threshold) => {
    const parts = encodePDataTfGroupParts(pdus, threshold);
    const oneByOne = concat(...pdus.map((pdvs) => encodePdu({ type: PduType.PDataTf, presentationDataValues: pdvs })));
    assert.deepEqual(concat(...parts), oneByOne);
    // Payloads over the threshold are the callers' views, not copies.
    for (const pdv of pdus.flat()) if (pdv.data.length > threshold) assert.ok(parts.includes(pdv.data), 'a large payload is its own part');
  }), { numRuns: 300 });
});

test('decodePdu never throws anything but a PduError on arbitrary bytes', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), bytes(300), (type, body) => {
    try {
      decodePdu(type, body);
    } catch (e) {
      assert.equal((e as Error).name, 'PduError', String(e));
    }
  }), { numRuns: 2000 });
});
