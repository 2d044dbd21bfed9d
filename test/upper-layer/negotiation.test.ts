/** negotiate() and friends: pure functions, many cases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PduType, negotiate, negotiatedPresentationContexts, validateAssociateAc, checkServiceProviderAcceptance, PresentationContextResult,
  AbortReason,
} from '../../src/upper-layer/index.js';
import type { AAssociateAc, AAssociateRj, AAssociateRq, AcceptancePolicy } from '../../src/upper-layer/index.js';
import {
  CT_IMAGE_STORAGE, EXPLICIT_BE, EXPLICIT_LE, IMPLEMENTATION_UID, IMPLICIT_LE, JPEG_BASELINE, MR_IMAGE_STORAGE, VERIFICATION, sampleRq,
} from './fixtures.js';

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: {
    [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] },
    [CT_IMAGE_STORAGE]: { transferSyntaxes: [JPEG_BASELINE, EXPLICIT_LE, IMPLICIT_LE] },
  },
  maximumLength: 65536,
  implementationClassUid: IMPLEMENTATION_UID,
  implementationVersionName: 'CONDUIT_TEST',
};

function ac(x: AAssociateAc | AAssociateRj): AAssociateAc {
  assert.equal(x.type, PduType.AAssociateAc, `expected A-ASSOCIATE-AC, got ${JSON.stringify(x)}`);
  return x as AAssociateAc;
}

function rj(x: AAssociateAc | AAssociateRj): [number, number, number] {
  assert.equal(x.type, PduType.AAssociateRj, 'expected A-ASSOCIATE-RJ');
  const r = x as AAssociateRj;
  return [r.result, r.source, r.reason];
}

function rqWith(contexts: AAssociateRq['presentationContexts'], mutate?: (rq: AAssociateRq) => void): AAssociateRq {
  const rq = sampleRq({ presentationContexts: contexts });
  mutate?.(rq);
  return rq;
}

test('accepts each context with the acceptor\'s most preferred transfer syntax among those proposed', () => {
  const a = ac(negotiate(rqWith([
    { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE] },
    { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE, EXPLICIT_LE] },
    { id: 5, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [JPEG_BASELINE] },
  ]), POLICY));
  assert.deepEqual(a.presentationContexts, [
    { id: 1, result: 0, transferSyntax: IMPLICIT_LE },
    { id: 3, result: 0, transferSyntax: EXPLICIT_LE },
    { id: 5, result: 0, transferSyntax: JPEG_BASELINE },
  ]);
  assert.equal(a.userInformation.maximumLength, 65536);
  assert.equal(a.userInformation.implementationClassUid, IMPLEMENTATION_UID);
  assert.equal(a.userInformation.implementationVersionName, 'CONDUIT_TEST');
  assert.equal(a.calledAeTitle, 'ANY-SCP');
  assert.equal(a.callingAeTitle, 'ECHOSCU');
});

test('result 3 abstract-syntax-not-supported and 4 transfer-syntaxes-not-supported (PS3.8 Table 9-18)', () => {
  const a = ac(negotiate(rqWith([
    { id: 1, abstractSyntax: MR_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
    { id: 3, abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_BE] },
  ]), POLICY));
  assert.deepEqual(a.presentationContexts.map((p) => [p.id, p.result]), [[1, 3], [3, 4]]);
  assert.equal(a.presentationContexts[0]!.transferSyntax, IMPLICIT_LE, 'a rejected context still carries a (not significant) transfer syntax sub-item');
});

test('a Map policy works like a record', () => {
  const policy = { ...POLICY, abstractSyntaxes: new Map([[VERIFICATION, { transferSyntaxes: [IMPLICIT_LE] }]]) };
  assert.equal(ac(negotiate(rqWith([{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }]), policy)).presentationContexts[0]!.result, 0);
  assert.equal(ac(negotiate(rqWith([{ id: 1, abstractSyntax: 'toString', transferSyntaxes: [IMPLICIT_LE] }]), POLICY)).presentationContexts[0]!.result, 3);
});

test('otherAbstractSyntax decides unlisted abstract syntaxes and sees their common extended negotiation', () => {
  const seen: Array<[string, string | undefined]> = [];
  const policy: AcceptancePolicy = {
    ...POLICY,
    otherAbstractSyntax: (uid, common) => {
      seen.push([uid, common?.serviceClassUid]);
      return common?.serviceClassUid === '1.2.840.10008.4.2' ? { transferSyntaxes: [EXPLICIT_LE] } : undefined;
    },
  };
  const rq = rqWith([
    { id: 1, abstractSyntax: '1.2.3.4.5', transferSyntaxes: [EXPLICIT_LE] },
    { id: 3, abstractSyntax: '1.2.3.4.6', transferSyntaxes: [EXPLICIT_LE] },
  ], (r) => {
    r.userInformation.sopClassCommonExtendedNegotiations = [{ sopClassUid: '1.2.3.4.5', serviceClassUid: '1.2.840.10008.4.2', relatedGeneralSopClassUids: [] }];
  });
  assert.deepEqual(ac(negotiate(rq, policy)).presentationContexts.map((p) => p.result), [0, 3]);
  assert.deepEqual(seen, [['1.2.3.4.5', '1.2.840.10008.4.2'], ['1.2.3.4.6', undefined]]);
});

test('A-ASSOCIATE-RJ: application context (1/1/2), called AE title (1/1/7), calling AE title (1/1/3)', () => {
  assert.deepEqual(rj(negotiate(sampleRq({ applicationContextName: '1.2.3' }), POLICY)), [1, 1, 2]);
  assert.deepEqual(rj(negotiate(sampleRq(), { ...POLICY, calledAeTitle: (t) => t === 'STORE' })), [1, 1, 7]);
  assert.deepEqual(rj(negotiate(sampleRq(), { ...POLICY, callingAeTitle: (t) => t === 'KNOWN' })), [1, 1, 3]);
  assert.equal(negotiate(sampleRq({ calledAeTitle: 'STORE', callingAeTitle: 'KNOWN' }), { ...POLICY, calledAeTitle: (t) => t === 'STORE', callingAeTitle: (t) => t === 'KNOWN' }).type, PduType.AAssociateAc);
});

test('protocol version: bit 0 is the only one tested (PS3.8 Table 9-11); otherwise 1/2/2', () => {
  assert.deepEqual(rj(negotiate(sampleRq({ protocolVersion: 0 }), POLICY)), [1, 2, 2]);
  assert.deepEqual(rj(negotiate(sampleRq({ protocolVersion: 2 }), POLICY)), [1, 2, 2]);
  assert.equal(checkServiceProviderAcceptance(sampleRq({ protocolVersion: 3 })), undefined);
  assert.equal(checkServiceProviderAcceptance(sampleRq({ protocolVersion: 0xffff })), undefined);
});

test('user identity: a verifier may reject (1/1/1) or accept, with a server response when one was asked for', () => {
  const enc = new TextEncoder();
  const withIdentity = (type: number, positive: boolean, primary: string, secondary = ''): AAssociateRq => rqWith(
    [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    (r) => { r.userInformation.userIdentity = { userIdentityType: type, positiveResponseRequested: positive, primaryField: enc.encode(primary), secondaryField: enc.encode(secondary) }; },
  );
  const verifier: AcceptancePolicy['userIdentity'] = (id) => {
    const user = new TextDecoder().decode(id.primaryField);
    const pass = new TextDecoder().decode(id.secondaryField);
    if (id.userIdentityType === 1) return { accept: user === 'alice' };
    if (id.userIdentityType === 2) return { accept: user === 'alice' && pass === 'pw' };
    if (id.userIdentityType === 5) return user.startsWith('eyJ') ? { accept: true, serverResponse: enc.encode('ok-token') } : { accept: false };
    return { accept: false };
  };
  const policy = { ...POLICY, userIdentity: verifier };
  assert.deepEqual(rj(negotiate(withIdentity(1, true, 'mallory'), policy)), [1, 1, 1]);
  assert.deepEqual(rj(negotiate(withIdentity(2, true, 'alice', 'wrong'), policy)), [1, 1, 1]);
  assert.deepEqual(rj(negotiate(withIdentity(3, false, 'ticket'), policy)), [1, 1, 1]);
  assert.deepEqual(rj(negotiate(withIdentity(4, false, '<saml/>'), policy)), [1, 1, 1]);
  assert.deepEqual(Array.from(ac(negotiate(withIdentity(1, true, 'alice'), policy)).userInformation.userIdentityResponse!.serverResponse), []);
  assert.equal(ac(negotiate(withIdentity(2, false, 'alice', 'pw'), policy)).userInformation.userIdentityResponse, undefined);
  assert.equal(new TextDecoder().decode(ac(negotiate(withIdentity(5, true, 'eyJhbGciOi'), policy)).userInformation.userIdentityResponse!.serverResponse), 'ok-token');
  // without a verifier, an identity is ignored (no response, no rejection)
  assert.equal(ac(negotiate(withIdentity(1, true, 'anyone'), POLICY)).userInformation.userIdentityResponse, undefined);
});

test('SCP/SCU role selection (PS3.7 D.3.3.4): answered only for SOP classes with a role policy; no role left rejects the context', () => {
  const contexts = [
    { id: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
    { id: 3, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
  ];
  const rq = rqWith(contexts, (r) => {
    r.userInformation.roleSelections = [
      { sopClassUid: CT_IMAGE_STORAGE, scuRole: false, scpRole: true },
      { sopClassUid: VERIFICATION, scuRole: true, scpRole: true },
    ];
  });
  const both: AcceptancePolicy = {
    ...POLICY,
    abstractSyntaxes: {
      [CT_IMAGE_STORAGE]: { transferSyntaxes: [IMPLICIT_LE], roles: { scu: true, scp: true } },
      [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] },
    },
  };
  const a = ac(negotiate(rq, both));
  assert.deepEqual(a.userInformation.roleSelections, [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: false, scpRole: true }]);
  const n = negotiatedPresentationContexts(rq, a);
  assert.deepEqual([n.get(1)!.scuRole, n.get(1)!.scpRole], [false, true], 'the requestor acts as SCP for CT (a C-GET receiver)');
  assert.deepEqual([n.get(3)!.scuRole, n.get(3)!.scpRole], [true, false], 'no answer: default roles');

  const scuOnly: AcceptancePolicy = { ...POLICY, abstractSyntaxes: { [CT_IMAGE_STORAGE]: { transferSyntaxes: [IMPLICIT_LE], roles: { scu: true, scp: false } } } };
  const b = ac(negotiate(rq, scuOnly));
  assert.equal(b.presentationContexts[0]!.result, PresentationContextResult.UserRejection);
  assert.deepEqual(b.userInformation.roleSelections, []);
});

test('asynchronous operations window: the smaller of each limit, 0 meaning unlimited; absent policy: no answer', () => {
  const rq = rqWith([{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], (r) => {
    r.userInformation.asynchronousOperationsWindow = { maximumNumberOperationsInvoked: 0, maximumNumberOperationsPerformed: 10 };
  });
  assert.deepEqual(ac(negotiate(rq, { ...POLICY, asynchronousOperationsWindow: { maximumNumberOperationsInvoked: 5, maximumNumberOperationsPerformed: 0 } }))
    .userInformation.asynchronousOperationsWindow, { maximumNumberOperationsInvoked: 5, maximumNumberOperationsPerformed: 10 });
  assert.deepEqual(ac(negotiate(rq, { ...POLICY, asynchronousOperationsWindow: { maximumNumberOperationsInvoked: 3, maximumNumberOperationsPerformed: 4 } }))
    .userInformation.asynchronousOperationsWindow, { maximumNumberOperationsInvoked: 3, maximumNumberOperationsPerformed: 4 });
  assert.equal(ac(negotiate(rq, POLICY)).userInformation.asynchronousOperationsWindow, undefined);
});

test('SOP class extended negotiation: answered by the hook, only for accepted SOP classes', () => {
  const rq = rqWith([
    { id: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
    { id: 3, abstractSyntax: MR_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
  ], (r) => {
    r.userInformation.sopClassExtendedNegotiations = [
      { sopClassUid: CT_IMAGE_STORAGE, serviceClassApplicationInformation: Uint8Array.of(1, 0, 1, 0, 1, 0) },
      { sopClassUid: MR_IMAGE_STORAGE, serviceClassApplicationInformation: Uint8Array.of(1) },
    ];
  });
  const a = ac(negotiate(rq, { ...POLICY, sopClassExtendedNegotiation: (_uid, info) => info.subarray(0, 1) }));
  assert.deepEqual(a.userInformation.sopClassExtendedNegotiations.map((x) => [x.sopClassUid, Array.from(x.serviceClassApplicationInformation)]), [[CT_IMAGE_STORAGE, [1]]]);
});

test('rejectWhenNoPresentationContextAccepted: 1/1/1 instead of an AC accepting nothing', () => {
  const rq = rqWith([{ id: 1, abstractSyntax: MR_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] }]);
  assert.equal(ac(negotiate(rq, POLICY)).presentationContexts[0]!.result, 3);
  assert.deepEqual(rj(negotiate(rq, { ...POLICY, rejectWhenNoPresentationContextAccepted: true })), [1, 1, 1]);
});

test('negotiatedPresentationContexts: every proposed context; one the AC leaves out counts as rejected (2)', () => {
  const rq = rqWith([
    { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
    { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE] },
  ]);
  const a = ac(negotiate(rq, POLICY));
  a.presentationContexts = a.presentationContexts.slice(0, 1);
  const n = negotiatedPresentationContexts(rq, a);
  assert.deepEqual(n.get(1), { id: 1, abstractSyntax: VERIFICATION, transferSyntax: IMPLICIT_LE, result: 0, scuRole: true, scpRole: false });
  assert.deepEqual(n.get(3), { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntax: '', result: 2, scuRole: true, scpRole: false });
});

test('validateAssociateAc: contexts not proposed, or accepted with a transfer syntax not proposed, are invalid (reason 6)', () => {
  const rq = rqWith([{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }]);
  const good = ac(negotiate(rq, POLICY));
  assert.equal(validateAssociateAc(rq, good), undefined);
  const unknownId = { ...good, presentationContexts: [{ id: 3, result: 0, transferSyntax: IMPLICIT_LE }] };
  assert.equal(validateAssociateAc(rq, unknownId)?.abortReason, AbortReason.InvalidPduParameterValue);
  const badTs = { ...good, presentationContexts: [{ id: 1, result: 0, transferSyntax: EXPLICIT_LE }] };
  assert.equal(validateAssociateAc(rq, badTs)?.abortReason, AbortReason.InvalidPduParameterValue);
  const rejected = { ...good, presentationContexts: [{ id: 1, result: 4, transferSyntax: '' }] };
  assert.equal(validateAssociateAc(rq, rejected), undefined);
});

test('negotiation is pure: the RQ is not changed and the same input gives the same answer', () => {
  const rq = sampleRq();
  const copy = JSON.stringify(rq);
  const a = JSON.stringify(negotiate(rq, POLICY));
  assert.equal(JSON.stringify(rq), copy);
  assert.equal(JSON.stringify(negotiate(rq, POLICY)), a);
});
