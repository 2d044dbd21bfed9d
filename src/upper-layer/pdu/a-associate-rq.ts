/**
 * A-ASSOCIATE-RQ PDU.
 *
 * PS3.8 §9.3.2, Table 9-11: A-ASSOCIATE-RQ PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 01H
 *   2            1       1     reserved (sent 00H, not tested)
 *   3-6          2       4     PDU-length: bytes from offset 6 to the end of the variable items
 *   7-8          6       2     Protocol-version: bit 0 set for version 1, the only one receivers test
 *   9-10         8       2     reserved
 *   11-26        10      16    Called-AE-title: ISO 646 G0, space padded; spaces not significant
 *   27-42        26      16    Calling-AE-title
 *   43-74        42      32    reserved
 *   75-xxx       74      n     Variable items: one Application Context (10H), one or more Presentation
 *                              Context (20H), one User Information (50H); see items.ts
 */
import { decodeAssociatePdu, encodeAssociatePdu } from './associate-pdu.js';
import type { AssociateItems, PresentationContextRq } from './items.js';
import { PduType } from './pdu-type.js';

export interface AAssociateRq extends AssociateItems<PresentationContextRq> {
  readonly type: typeof PduType.AAssociateRq;
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
}

/** Bit 0 of Protocol-version: version 1 (PS3.8 §9.3.2, Table 9-11). */
export const PROTOCOL_VERSION = 0x0001;

export function encodeAAssociateRq(pdu: AAssociateRq): Uint8Array {
  return encodeAssociatePdu(PduType.AAssociateRq, pdu);
}

/** Decodes the body (the bytes after the 6-byte header). Items' byte values are views into `body`. */
export function decodeAAssociateRq(body: Uint8Array): AAssociateRq {
  return { type: PduType.AAssociateRq, ...decodeAssociatePdu(body, 'rq') };
}
