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
import { PduReader, PduWriter, decodeAscii, trimAeTitle, writeAeTitle } from './pdu-bytes.js';
import { decodeAssociateItems, encodeAssociateItems } from './items.js';
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
  const w = new PduWriter(512);
  w.uint8(PduType.AAssociateAc);
  w.uint8(0);
  const m = w.begin32();
  w.uint16(pdu.protocolVersion);
  w.uint16(0);
  writeAeTitle(w, pdu.calledAeTitle, 'called AE title');
  writeAeTitle(w, pdu.callingAeTitle, 'calling AE title');
  w.zeros(32);
  encodeAssociateItems(w, pdu, 'ac');
  w.end32(m);
  return w.finish();
}

export function decodeAAssociateAc(body: Uint8Array): AAssociateAc {
  const r = new PduReader(body);
  const protocolVersion = r.uint16('protocol version');
  r.skip(2, 'reserved');
  r.skip(32, 'AE titles');
  const calledAeTitle = trimAeTitle(decodeAscii(body, 4, 20));
  const callingAeTitle = trimAeTitle(decodeAscii(body, 20, 36));
  r.skip(32, 'reserved');
  const items = decodeAssociateItems(r, 'ac');
  return { type: PduType.AAssociateAc, protocolVersion, calledAeTitle, callingAeTitle, ...items };
}
