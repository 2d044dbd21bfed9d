/** PDUs built in code for the Upper Layer tests (no files: every byte here is derived from PS3.8 / PS3.7). */
import {
  DICOM_APPLICATION_CONTEXT_NAME, PROTOCOL_VERSION, PduType, emptyUserInformation,
} from '../../src/upper-layer/index.js';
import type { AAssociateAc, AAssociateRq, PresentationDataValue } from '../../src/upper-layer/index.js';

export const VERIFICATION = '1.2.840.10008.1.1';
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
export const IMPLEMENTATION_UID = '1.2.826.0.1.3680043.10.1234';

export function sampleRq(overrides: Partial<AAssociateRq> = {}): AAssociateRq {
  const ui = emptyUserInformation();
  ui.maximumLength = 16384;
  ui.implementationClassUid = IMPLEMENTATION_UID;
  ui.implementationVersionName = 'TEST_1';
  return {
    type: PduType.AAssociateRq,
    protocolVersion: PROTOCOL_VERSION,
    calledAeTitle: 'ANY-SCP',
    callingAeTitle: 'ECHOSCU',
    applicationContextName: DICOM_APPLICATION_CONTEXT_NAME,
    presentationContexts: [
      { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE] },
    ],
    userInformation: ui,
    unknownItems: [],
    ...overrides,
  };
}

/** Every sub-item of the User Information item, for the round trips. */
export function fullRq(): AAssociateRq {
  const rq = sampleRq();
  const ui = rq.userInformation;
  ui.asynchronousOperationsWindow = { maximumNumberOperationsInvoked: 5, maximumNumberOperationsPerformed: 0 };
  ui.roleSelections = [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: true, scpRole: true }];
  ui.sopClassExtendedNegotiations = [{ sopClassUid: CT_IMAGE_STORAGE, serviceClassApplicationInformation: Uint8Array.of(1, 0, 1) }];
  ui.sopClassCommonExtendedNegotiations = [{ sopClassUid: '1.2.3.4', serviceClassUid: '1.2.840.10008.4.2', relatedGeneralSopClassUids: ['1.2.3', '1.2.3.5'] }];
  ui.userIdentity = { userIdentityType: 2, positiveResponseRequested: true, primaryField: new TextEncoder().encode('alice'), secondaryField: new TextEncoder().encode('s3cret') };
  ui.unknownSubItems = [{ type: 0x5f, data: Uint8Array.of(9, 8, 7) }];
  rq.unknownItems = [{ type: 0x60, data: Uint8Array.of(1, 2) }];
  return rq;
}

export function sampleAc(rq: AAssociateRq = sampleRq()): AAssociateAc {
  const ui = emptyUserInformation();
  ui.maximumLength = 32768;
  ui.implementationClassUid = IMPLEMENTATION_UID;
  return {
    type: PduType.AAssociateAc,
    protocolVersion: PROTOCOL_VERSION,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContextName: DICOM_APPLICATION_CONTEXT_NAME,
    presentationContexts: rq.presentationContexts.map((pc) => ({ id: pc.id, result: 0, transferSyntax: pc.transferSyntaxes[0]! })),
    userInformation: ui,
    unknownItems: [],
  };
}

export function pdv(id: number, bytes: number[] | Uint8Array, isCommand = true, isLast = true): PresentationDataValue {
  return { presentationContextId: id, isCommand, isLast, data: bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes) };
}

export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Comparable form of a decoded PDU: views become plain arrays. */
export function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return Array.from(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}
