/**
 * A-ASSOCIATE-AC PDU.
 *
 * PS3.8 §9.3.3, Table 9-17: A-ASSOCIATE-AC PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 02H
 *   2            1       1     reserved
 *   3-6          2       4     PDU-length
 *   7-8          6       2     Protocol-version (bit 0: version 1)
 *   9-10         8       2     reserved
 *   11-26        10      16    reserved: sent with the Called-AE-title of the A-ASSOCIATE-RQ, not tested
 *   27-42        26      16    reserved: sent with the Calling-AE-title of the A-ASSOCIATE-RQ, not tested
 *   43-74        42      32    reserved: sent with the A-ASSOCIATE-RQ's bytes 43-74, not tested
 *   75-xxx       74      n     Variable items: one Application Context (10H), Presentation Context (21H)
 *                              items, one User Information (50H); see items.ts
 */
import { decodeAssociatePdu, encodeAssociatePdu } from './associate-pdu.js';
import type { AssociateItems, PresentationContextAc } from './items.js';
import { PduType } from './pdu-type.js';

export interface AAssociateAc extends AssociateItems<PresentationContextAc> {
  readonly type: typeof PduType.AAssociateAc;
  protocolVersion: number;
  /** Echoed from the A-ASSOCIATE-RQ; not significant on receipt. */
  calledAeTitle: string;
  /** Echoed from the A-ASSOCIATE-RQ; not significant on receipt. */
  callingAeTitle: string;
}

export function encodeAAssociateAc(pdu: AAssociateAc): Uint8Array {
  return encodeAssociatePdu(PduType.AAssociateAc, pdu);
}

/** Decodes the body (the bytes after the 6-byte header). Items' byte values are views into `body`. */
export function decodeAAssociateAc(body: Uint8Array): AAssociateAc {
  return { type: PduType.AAssociateAc, ...decodeAssociatePdu(body, 'ac') };
}
