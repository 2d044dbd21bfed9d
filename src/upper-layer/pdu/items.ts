/**
 * The variable items of A-ASSOCIATE-RQ and -AC: Application Context, Presentation Context (RQ and AC
 * forms with their Abstract/Transfer Syntax sub-items), and the dispatch of the User Information item
 * (its sub-items are in user-information.ts).
 *
 * PS3.8 §9.3.2.1, Table 9-12 / §9.3.3.1, Table 9-16: Application Context Item
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     Item-type 10H
 *   2            1       1     reserved
 *   3-4          2       2     Item-length
 *   5-xxx        4       n     Application-context-name (a UID)
 * PS3.8 §9.3.2.2, Table 9-13: Presentation Context Item (A-ASSOCIATE-RQ)
 *   1            0       1     Item-type 20H
 *   2            1       1     reserved
 *   3-4          2       2     Item-length
 *   5            4       1     Presentation-context-ID (odd, 1-255)
 *   6-8          5       3     reserved
 *   9-xxx        8       n     one Abstract Syntax Sub-Item (30H), one or more Transfer Syntax Sub-Items (40H)
 * PS3.8 §9.3.3.2, Table 9-18: Presentation Context Item (A-ASSOCIATE-AC)
 *   1            0       1     Item-type 21H
 *   2            1       1     reserved
 *   3-4          2       2     Item-length
 *   5            4       1     Presentation-context-ID
 *   6            5       1     reserved
 *   7            6       1     Result/Reason: 0 acceptance, 1 user-rejection, 2 no-reason (provider
 *                              rejection), 3 abstract-syntax-not-supported, 4 transfer-syntaxes-not-supported
 *   8            7       1     reserved
 *   9-xxx        8       n     one Transfer Syntax Sub-Item (40H), not significant unless Result is 0
 * PS3.8 §9.3.2.2.1, Table 9-14 / §9.3.2.2.2, Table 9-15: Abstract / Transfer Syntax Sub-Item
 *   1            0       1     Item-type 30H / 40H
 *   2            1       1     reserved
 *   3-4          2       2     Item-length
 *   5-xxx        4       n     Abstract-syntax-name / Transfer-syntax-name (a UID)
 */
import { AbortReason } from '../errors.js';
import { PduReader, PduWriter, trimUid } from './pdu-bytes.js';
import { decodeUserInformation, emptyUserInformation, encodeUserInformation } from './user-information.js';
import type { UserInformation } from './user-information.js';

export const ItemType = {
  ApplicationContext: 0x10,
  PresentationContextRq: 0x20,
  PresentationContextAc: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
} as const;

/** PS3.7 Annex A.2.1: the DICOM Application Context Name, the only one defined. */
export const DICOM_APPLICATION_CONTEXT_NAME = '1.2.840.10008.3.1.1.1';

/** PS3.8 §9.3.3.2, Table 9-18: Result/Reason of a presentation context in A-ASSOCIATE-AC. */
export const PresentationContextResult = {
  Acceptance: 0,
  UserRejection: 1,
  NoReason: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const;
export type PresentationContextResult = number;

/** The Result/Reason as PS3.8 Table 9-18 words it, for messages: `result 3 (abstract-syntax-not-supported)`. */
export function describePresentationContextResult(result: PresentationContextResult): string {
  const words = ['acceptance', 'user-rejection', 'no-reason (provider rejection)', 'abstract-syntax-not-supported', 'transfer-syntaxes-not-supported'][result];
  return `result ${result}${words === undefined ? '' : ` (${words})`}`;
}

/** A presentation context as proposed in A-ASSOCIATE-RQ (PS3.8 §9.3.2.2). */
export interface PresentationContextRq {
  id: number;
  abstractSyntax: string;
  /** In the requestor's order. */
  transferSyntaxes: string[];
}

/** A presentation context as answered in A-ASSOCIATE-AC (PS3.8 §9.3.3.2). */
export interface PresentationContextAc {
  id: number;
  result: PresentationContextResult;
  /** The accepted transfer syntax; not significant ('' allowed) unless `result` is 0. */
  transferSyntax: string;
}

/** An item or sub-item of a type this implementation does not know: skipped, but kept (PS3.8 §9.3.1). */
export interface UnknownItem {
  type: number;
  /** The item's value (after its 4-byte header); a view into the received PDU. */
  data: Uint8Array;
}

/** The variable field shared by A-ASSOCIATE-RQ and -AC (PS3.8 §9.3.2, §9.3.3). */
export interface AssociateItems<P> {
  applicationContextName: string;
  presentationContexts: P[];
  userInformation: UserInformation;
  unknownItems: UnknownItem[];
}

export function decodeAssociateItems(r: PduReader, pdu: 'rq'): AssociateItems<PresentationContextRq>;
export function decodeAssociateItems(r: PduReader, pdu: 'ac'): AssociateItems<PresentationContextAc>;
export function decodeAssociateItems(r: PduReader, pdu: 'rq' | 'ac'): AssociateItems<PresentationContextRq | PresentationContextAc> {
  let applicationContextName: string | undefined;
  let userInformation: UserInformation | undefined;
  const presentationContexts: Array<PresentationContextRq | PresentationContextAc> = [];
  const unknownItems: UnknownItem[] = [];
  const ids = new Set<number>();
  const ownContextType = pdu === 'rq' ? ItemType.PresentationContextRq : ItemType.PresentationContextAc;
  const otherContextType = pdu === 'rq' ? ItemType.PresentationContextAc : ItemType.PresentationContextRq;
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.uint8('item type');
    r.skip(1, 'item reserved byte');
    const length = r.uint16('item length');
    const item = r.sub(length, `item ${hex(type)} of length ${length}`);
    switch (type) {
      case ItemType.ApplicationContext:
        if (applicationContextName !== undefined) failAt(r, at, AbortReason.UnexpectedPduParameter, 'a second Application Context Item');
        applicationContextName = trimUid(item.ascii(length, 'application context name'));
        break;
      case ownContextType: {
        const pc = pdu === 'rq' ? decodePresentationContextRq(item) : decodePresentationContextAc(item);
        if (ids.has(pc.id)) failAt(r, at, AbortReason.InvalidPduParameterValue, `presentation context ID ${pc.id} appears twice`);
        ids.add(pc.id);
        presentationContexts.push(pc);
        break;
      }
      case otherContextType:
        failAt(r, at, AbortReason.UnexpectedPduParameter, `a Presentation Context Item of type ${hex(type)} in A-ASSOCIATE-${pdu.toUpperCase()}`);
      case ItemType.UserInformation:
        if (userInformation !== undefined) failAt(r, at, AbortReason.UnexpectedPduParameter, 'a second User Information Item');
        userInformation = decodeUserInformation(item);
        break;
      default:
        // PS3.8 §9.3.1: items of unrecognized types shall be ignored and skipped.
        unknownItems.push({ type, data: item.view8(length, 'item') });
    }
  }
  if (applicationContextName === undefined) r.fail(AbortReason.InvalidPduParameterValue, `A-ASSOCIATE-${pdu.toUpperCase()} has no Application Context Item`);
  if (pdu === 'rq' && presentationContexts.length === 0) r.fail(AbortReason.InvalidPduParameterValue, 'A-ASSOCIATE-RQ has no Presentation Context Item');
  return { applicationContextName, presentationContexts, userInformation: userInformation ?? emptyUserInformation(), unknownItems };
}

function decodePresentationContextRq(r: PduReader): PresentationContextRq {
  const id = decodeContextId(r);
  r.skip(3, 'presentation context reserved bytes');
  let abstractSyntax: string | undefined;
  const transferSyntaxes: string[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.uint8('sub-item type');
    r.skip(1, 'sub-item reserved byte');
    const length = r.uint16('sub-item length');
    const value = r.sub(length, `sub-item ${hex(type)} of length ${length}`);
    if (type === ItemType.AbstractSyntax) {
      if (abstractSyntax !== undefined) failAt(r, at, AbortReason.UnexpectedPduParameter, `presentation context ${id} has a second Abstract Syntax Sub-Item`);
      abstractSyntax = trimUid(value.ascii(length, 'abstract syntax name'));
    } else if (type === ItemType.TransferSyntax) {
      transferSyntaxes.push(trimUid(value.ascii(length, 'transfer syntax name')));
    }
    // other sub-item types: unrecognized, skipped (PS3.8 §9.3.1)
  }
  if (abstractSyntax === undefined) r.fail(AbortReason.InvalidPduParameterValue, `presentation context ${id} has no Abstract Syntax Sub-Item`);
  if (transferSyntaxes.length === 0) r.fail(AbortReason.InvalidPduParameterValue, `presentation context ${id} has no Transfer Syntax Sub-Item`);
  return { id, abstractSyntax, transferSyntaxes };
}

function decodePresentationContextAc(r: PduReader): PresentationContextAc {
  const id = decodeContextId(r);
  r.skip(1, 'presentation context reserved byte');
  const result = r.uint8('presentation context result/reason');
  r.skip(1, 'presentation context reserved byte');
  if (result > PresentationContextResult.TransferSyntaxesNotSupported) {
    r.fail(AbortReason.UnrecognizedPduParameter, `presentation context ${id} has result/reason ${result}, not one of 0-4`);
  }
  let transferSyntax: string | undefined;
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.uint8('sub-item type');
    r.skip(1, 'sub-item reserved byte');
    const length = r.uint16('sub-item length');
    const value = r.sub(length, `sub-item ${hex(type)} of length ${length}`);
    if (type === ItemType.TransferSyntax) {
      if (transferSyntax !== undefined) failAt(r, at, AbortReason.UnexpectedPduParameter, `presentation context ${id} has a second Transfer Syntax Sub-Item`);
      transferSyntax = trimUid(value.ascii(length, 'transfer syntax name'));
    } else if (type === ItemType.AbstractSyntax) {
      failAt(r, at, AbortReason.UnexpectedPduParameter, `presentation context ${id} has an Abstract Syntax Sub-Item in A-ASSOCIATE-AC`);
    }
  }
  // The sub-item is not significant for a rejected context, and some peers leave it out.
  if (transferSyntax === undefined && result === PresentationContextResult.Acceptance) {
    r.fail(AbortReason.InvalidPduParameterValue, `accepted presentation context ${id} has no Transfer Syntax Sub-Item`);
  }
  return { id, result, transferSyntax: transferSyntax ?? '' };
}

function decodeContextId(r: PduReader): number {
  const id = r.uint8('presentation context ID');
  // PS3.8 §9.3.2.2, Table 9-13: odd integers between 1 and 255
  if (id % 2 === 0) {
    r.offset -= 1;
    r.fail(AbortReason.InvalidPduParameterValue, `presentation context ID ${id} is not odd`);
  }
  return id;
}

export function encodeAssociateItems(w: PduWriter, items: AssociateItems<PresentationContextRq> | AssociateItems<PresentationContextAc>, pdu: 'rq' | 'ac'): void {
  writeUidItem(w, ItemType.ApplicationContext, items.applicationContextName, 'application context name');
  for (const pc of items.presentationContexts) {
    if (pdu === 'rq') encodePresentationContextRq(w, pc as PresentationContextRq);
    else encodePresentationContextAc(w, pc as PresentationContextAc);
  }
  encodeUserInformation(w, items.userInformation);
  for (const u of items.unknownItems) {
    w.uint8(u.type);
    w.uint8(0);
    const m = w.begin16();
    w.bytes(u.data);
    w.end16(m, `item ${hex(u.type)}`);
  }
}

function encodePresentationContextRq(w: PduWriter, pc: PresentationContextRq): void {
  w.uint8(ItemType.PresentationContextRq);
  w.uint8(0);
  const m = w.begin16();
  w.uint8(pc.id);
  w.zeros(3);
  writeUidItem(w, ItemType.AbstractSyntax, pc.abstractSyntax, 'abstract syntax name');
  for (const ts of pc.transferSyntaxes) writeUidItem(w, ItemType.TransferSyntax, ts, 'transfer syntax name');
  w.end16(m, `presentation context ${pc.id}`);
}

function encodePresentationContextAc(w: PduWriter, pc: PresentationContextAc): void {
  w.uint8(ItemType.PresentationContextAc);
  w.uint8(0);
  const m = w.begin16();
  w.uint8(pc.id);
  w.uint8(0);
  w.uint8(pc.result);
  w.uint8(0);
  writeUidItem(w, ItemType.TransferSyntax, pc.transferSyntax, 'transfer syntax name');
  w.end16(m, `presentation context ${pc.id}`);
}

/** An item (or sub-item) whose whole value is one UID, written without padding. */
export function writeUidItem(w: PduWriter, type: number, uid: string, what: string): void {
  w.uint8(type);
  w.uint8(0);
  const m = w.begin16();
  w.ascii(uid);
  w.end16(m, what);
}

function failAt(r: PduReader, at: number, reason: AbortReason, message: string): never {
  r.offset = at;
  r.fail(reason, message);
}

export function hex(n: number): string {
  return `${n.toString(16).toUpperCase().padStart(2, '0')}H`;
}
