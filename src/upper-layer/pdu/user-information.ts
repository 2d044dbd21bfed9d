/**
 * The User Information Item (50H) and its sub-items.
 *
 * PS3.8 §9.3.2.3, Table 9-16 / §9.3.3.3, Table 9-20: User Information Item
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     Item-type 50H
 *   2            1       1     reserved
 *   3-4          2       2     Item-length
 *   5-xxx        4       n     User-data: sub-items, each Item-type (1), reserved (1), Item-length (2), value
 *
 * Sub-item values (the bytes after each sub-item's 4-byte header):
 *   51H Maximum Length (PS3.8 Annex D.1): Maximum-length-received (4); 0 = no limit
 *   52H Implementation Class UID (PS3.7 D.3.3.2): Implementation-class-uid
 *   53H Asynchronous Operations Window (PS3.7 D.3.3.3): Maximum-number-operations-invoked (2),
 *       Maximum-number-operations-performed (2); 0 = unlimited
 *   54H SCP/SCU Role Selection (PS3.7 D.3.3.4): UID-length (2), SOP-class-uid, SCU-role (1), SCP-role (1)
 *   55H Implementation Version Name (PS3.7 D.3.3.2): 1-16 characters
 *   56H SOP Class Extended Negotiation (PS3.7 D.3.3.5): SOP-class-uid-length (2), SOP-class-uid,
 *       Service-class-application-information (the rest)
 *   57H SOP Class Common Extended Negotiation (PS3.7 D.3.3.6; its byte 2 is Sub-item-version, 0):
 *       SOP-class-uid-length (2), SOP-class-uid, Service-class-uid-length (2), Service-class-uid,
 *       Related-general-sop-class-identification-length (2), then pairs of
 *       Related-general-sop-class-uid-length (2) + Related-general-sop-class-uid, then reserved (empty in version 0)
 *   58H User Identity, A-ASSOCIATE-RQ (PS3.7 D.3.3.7): User-Identity-Type (1), Positive-response-requested (1),
 *       Primary-field-length (2), Primary-field, Secondary-field-length (2), Secondary-field
 *   59H User Identity, A-ASSOCIATE-AC (PS3.7 D.3.3.7): Server-response-length (2), Server-response
 */
import { DicomError } from '../../core/dicom-error.js';
import { AbortReason, PduError } from '../errors.js';
import { PDU_HEADER_LENGTH, PduReader, PduWriter, trimUid } from './pdu-bytes.js';
import type { UnknownItem } from './items.js';

export const SubItemType = {
  MaximumLength: 0x51,
  ImplementationClassUid: 0x52,
  AsynchronousOperationsWindow: 0x53,
  ScpScuRoleSelection: 0x54,
  ImplementationVersionName: 0x55,
  SopClassExtendedNegotiation: 0x56,
  SopClassCommonExtendedNegotiation: 0x57,
  UserIdentityRq: 0x58,
  UserIdentityAc: 0x59,
} as const;

/** PS3.7 D.3.3.3 */
export interface AsynchronousOperationsWindow {
  maximumNumberOperationsInvoked: number;
  maximumNumberOperationsPerformed: number;
}

/**
 * PS3.7 D.3.3.4. In A-ASSOCIATE-RQ the roles the association-requestor proposes for itself; in
 * A-ASSOCIATE-AC whether the acceptor accepts the requestor in each role.
 */
export interface RoleSelection {
  sopClassUid: string;
  scuRole: boolean;
  scpRole: boolean;
}

/** PS3.7 D.3.3.5 */
export interface SopClassExtendedNegotiation {
  sopClassUid: string;
  serviceClassApplicationInformation: Uint8Array;
}

/** PS3.7 D.3.3.6 (A-ASSOCIATE-RQ only). */
export interface SopClassCommonExtendedNegotiation {
  sopClassUid: string;
  serviceClassUid: string;
  relatedGeneralSopClassUids: string[];
}

/** PS3.7 D.3.3.7.1: User-Identity-Type. */
export const UserIdentityType = {
  Username: 1,
  UsernameAndPasscode: 2,
  KerberosServiceTicket: 3,
  SamlAssertion: 4,
  JsonWebToken: 5,
} as const;
export type UserIdentityType = number;

/** PS3.7 D.3.3.7.1: User Identity sub-item of A-ASSOCIATE-RQ. */
export interface UserIdentityRq {
  userIdentityType: UserIdentityType;
  positiveResponseRequested: boolean;
  primaryField: Uint8Array;
  /** The passcode for type 2; empty otherwise. */
  secondaryField: Uint8Array;
}

/** PS3.7 D.3.3.7.2: User Identity sub-item of A-ASSOCIATE-AC. */
export interface UserIdentityAc {
  serverResponse: Uint8Array;
}

/** The User Information Item's sub-items; absent optional sub-items are absent properties. */
export interface UserInformation {
  /** Maximum-length-received (PS3.8 Annex D.1): the longest P-DATA-TF PDU-length the sender accepts; 0 = no limit. */
  maximumLength?: number;
  implementationClassUid?: string;
  implementationVersionName?: string;
  asynchronousOperationsWindow?: AsynchronousOperationsWindow;
  roleSelections: RoleSelection[];
  sopClassExtendedNegotiations: SopClassExtendedNegotiation[];
  sopClassCommonExtendedNegotiations: SopClassCommonExtendedNegotiation[];
  userIdentity?: UserIdentityRq;
  userIdentityResponse?: UserIdentityAc;
  unknownSubItems: UnknownItem[];
}

export function emptyUserInformation(): UserInformation {
  return { roleSelections: [], sopClassExtendedNegotiations: [], sopClassCommonExtendedNegotiations: [], unknownSubItems: [] };
}

export function decodeUserInformation(r: PduReader): UserInformation {
  const ui = emptyUserInformation();
  const seen = new Set<number>();
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.uint8('sub-item type');
    r.skip(1, 'sub-item reserved byte');
    const length = r.uint16('sub-item length');
    const v = r.sub(length, `user information sub-item ${type.toString(16).toUpperCase()}H of length ${length}`);
    const single = type === SubItemType.MaximumLength || type === SubItemType.ImplementationClassUid ||
      type === SubItemType.ImplementationVersionName || type === SubItemType.AsynchronousOperationsWindow ||
      type === SubItemType.UserIdentityRq || type === SubItemType.UserIdentityAc;
    if (single && seen.has(type)) {
      r.offset = at;
      r.fail(AbortReason.UnexpectedPduParameter, `user information sub-item ${type.toString(16).toUpperCase()}H appears twice`);
    }
    seen.add(type);
    switch (type) {
      case SubItemType.MaximumLength:
        expectLength(v, 4, 'Maximum Length Sub-Item', at);
        ui.maximumLength = v.uint32('maximum length received');
        break;
      case SubItemType.ImplementationClassUid:
        ui.implementationClassUid = trimUid(v.ascii(length, 'implementation class UID'));
        break;
      case SubItemType.ImplementationVersionName:
        ui.implementationVersionName = v.ascii(length, 'implementation version name').replace(/[ \x00]+$/, '');
        break;
      case SubItemType.AsynchronousOperationsWindow:
        expectLength(v, 4, 'Asynchronous Operations Window Sub-Item', at);
        ui.asynchronousOperationsWindow = {
          maximumNumberOperationsInvoked: v.uint16('maximum number operations invoked'),
          maximumNumberOperationsPerformed: v.uint16('maximum number operations performed'),
        };
        break;
      case SubItemType.ScpScuRoleSelection: {
        const n = v.uint16('role selection UID length');
        const sopClassUid = trimUid(v.ascii(n, 'role selection SOP class UID'));
        const scu = v.uint8('SCU-role');
        const scp = v.uint8('SCP-role');
        if (scu > 1 || scp > 1) {
          v.offset -= 2;
          v.fail(AbortReason.InvalidPduParameterValue, `role selection for ${sopClassUid} has SCU-role ${scu}, SCP-role ${scp}; each must be 0 or 1`);
        }
        if (v.remaining !== 0) v.fail(AbortReason.InvalidPduParameterValue, `role selection for ${sopClassUid} has ${v.remaining} bytes past its SCP-role`);
        ui.roleSelections.push({ sopClassUid, scuRole: scu === 1, scpRole: scp === 1 });
        break;
      }
      case SubItemType.SopClassExtendedNegotiation: {
        const n = v.uint16('SOP class UID length');
        const sopClassUid = trimUid(v.ascii(n, 'extended negotiation SOP class UID'));
        ui.sopClassExtendedNegotiations.push({ sopClassUid, serviceClassApplicationInformation: v.view8(v.remaining, 'service class application information') });
        break;
      }
      case SubItemType.SopClassCommonExtendedNegotiation:
        ui.sopClassCommonExtendedNegotiations.push(decodeCommonExtended(v));
        break;
      case SubItemType.UserIdentityRq: {
        const userIdentityType = v.uint8('user identity type');
        const positiveResponseRequested = v.uint8('positive response requested') === 1;
        const primaryField = v.view8(v.uint16('primary field length'), 'primary field');
        const secondaryField = v.view8(v.uint16('secondary field length'), 'secondary field');
        ui.userIdentity = { userIdentityType, positiveResponseRequested, primaryField, secondaryField };
        break;
      }
      case SubItemType.UserIdentityAc:
        ui.userIdentityResponse = { serverResponse: v.view8(v.uint16('server response length'), 'server response') };
        break;
      default:
        ui.unknownSubItems.push({ type, data: v.view8(length, 'sub-item') });
    }
  }
  return ui;
}

function decodeCommonExtended(v: PduReader): SopClassCommonExtendedNegotiation {
  const sopClassUid = trimUid(v.ascii(v.uint16('SOP class UID length'), 'common extended negotiation SOP class UID'));
  const serviceClassUid = trimUid(v.ascii(v.uint16('service class UID length'), 'service class UID'));
  const related = v.sub(v.uint16('related general SOP class identification length'), 'related general SOP class identification');
  const relatedGeneralSopClassUids: string[] = [];
  while (related.remaining > 0) {
    relatedGeneralSopClassUids.push(trimUid(related.ascii(related.uint16('related general SOP class UID length'), 'related general SOP class UID')));
  }
  // the rest is reserved for later versions of the sub-item and skipped
  return { sopClassUid, serviceClassUid, relatedGeneralSopClassUids };
}

function expectLength(v: PduReader, n: number, what: string, at: number): void {
  if (v.remaining !== n) {
    throw new PduError(AbortReason.InvalidPduParameterValue, `${what} has item-length ${v.remaining}, not ${n}`, at + PDU_HEADER_LENGTH);
  }
}

export function encodeUserInformation(w: PduWriter, ui: UserInformation): void {
  w.uint8(0x50);
  w.uint8(0);
  const item = w.begin16();
  if (ui.maximumLength !== undefined) {
    header(w, SubItemType.MaximumLength, 4);
    w.uint32(ui.maximumLength);
  }
  if (ui.implementationClassUid !== undefined) textSubItem(w, SubItemType.ImplementationClassUid, ui.implementationClassUid, 'implementation class UID');
  if (ui.asynchronousOperationsWindow !== undefined) {
    header(w, SubItemType.AsynchronousOperationsWindow, 4);
    w.uint16(ui.asynchronousOperationsWindow.maximumNumberOperationsInvoked);
    w.uint16(ui.asynchronousOperationsWindow.maximumNumberOperationsPerformed);
  }
  for (const rs of ui.roleSelections) {
    w.uint8(SubItemType.ScpScuRoleSelection);
    w.uint8(0);
    const m = w.begin16();
    w.uint16(rs.sopClassUid.length);
    w.ascii(rs.sopClassUid);
    w.uint8(rs.scuRole ? 1 : 0);
    w.uint8(rs.scpRole ? 1 : 0);
    w.end16(m, `role selection for ${rs.sopClassUid}`);
  }
  if (ui.implementationVersionName !== undefined) {
    if (ui.implementationVersionName.length > 16) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `implementation version name '${ui.implementationVersionName}' is longer than 16 characters`);
    }
    textSubItem(w, SubItemType.ImplementationVersionName, ui.implementationVersionName, 'implementation version name');
  }
  for (const x of ui.sopClassExtendedNegotiations) {
    w.uint8(SubItemType.SopClassExtendedNegotiation);
    w.uint8(0);
    const m = w.begin16();
    w.uint16(x.sopClassUid.length);
    w.ascii(x.sopClassUid);
    w.bytes(x.serviceClassApplicationInformation);
    w.end16(m, `extended negotiation for ${x.sopClassUid}`);
  }
  for (const x of ui.sopClassCommonExtendedNegotiations) {
    w.uint8(SubItemType.SopClassCommonExtendedNegotiation);
    w.uint8(0); // Sub-item-version 0
    const m = w.begin16();
    w.uint16(x.sopClassUid.length);
    w.ascii(x.sopClassUid);
    w.uint16(x.serviceClassUid.length);
    w.ascii(x.serviceClassUid);
    const related = w.begin16();
    for (const uid of x.relatedGeneralSopClassUids) {
      w.uint16(uid.length);
      w.ascii(uid);
    }
    w.end16(related, `related general SOP classes of ${x.sopClassUid}`);
    w.end16(m, `common extended negotiation for ${x.sopClassUid}`);
  }
  if (ui.userIdentity !== undefined) {
    const id = ui.userIdentity;
    w.uint8(SubItemType.UserIdentityRq);
    w.uint8(0);
    const m = w.begin16();
    w.uint8(id.userIdentityType);
    w.uint8(id.positiveResponseRequested ? 1 : 0);
    const p = w.begin16();
    w.bytes(id.primaryField);
    w.end16(p, 'user identity primary field');
    const s = w.begin16();
    w.bytes(id.secondaryField);
    w.end16(s, 'user identity secondary field');
    w.end16(m, 'user identity');
  }
  if (ui.userIdentityResponse !== undefined) {
    w.uint8(SubItemType.UserIdentityAc);
    w.uint8(0);
    const m = w.begin16();
    const s = w.begin16();
    w.bytes(ui.userIdentityResponse.serverResponse);
    w.end16(s, 'user identity server response');
    w.end16(m, 'user identity response');
  }
  for (const u of ui.unknownSubItems) {
    w.uint8(u.type);
    w.uint8(0);
    const m = w.begin16();
    w.bytes(u.data);
    w.end16(m, `user information sub-item ${u.type}`);
  }
  w.end16(item, 'user information item');
}

function header(w: PduWriter, type: number, length: number): void {
  w.uint8(type);
  w.uint8(0);
  w.uint16(length);
}

function textSubItem(w: PduWriter, type: number, text: string, what: string): void {
  w.uint8(type);
  w.uint8(0);
  const m = w.begin16();
  w.ascii(text);
  w.end16(m, what);
}
