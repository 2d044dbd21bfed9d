/**
 * The fields A-ASSOCIATE-RQ and A-ASSOCIATE-AC share (PS3.8 §9.3.2, Table 9-11, and §9.3.3,
 * Table 9-17): protocol version, reserved, called and calling AE titles, 32 reserved bytes, then
 * the variable items. Each PDU's own file keeps its type and offset table.
 */
import { PduReader, PduWriter, decodeAscii, trimAeTitle, writeAeTitle } from './pdu-bytes.js';
import { decodeAssociateItems, encodeAssociateItems } from './items.js';
import type { AssociateItems, PresentationContextAc, PresentationContextRq } from './items.js';
import { PduType } from './pdu-type.js';

interface AssociateFields {
  protocolVersion: number;
  calledAeTitle: string;
  callingAeTitle: string;
}

export function encodeAssociatePdu(
  type: typeof PduType.AAssociateRq | typeof PduType.AAssociateAc,
  pdu: AssociateFields & (AssociateItems<PresentationContextRq> | AssociateItems<PresentationContextAc>),
): Uint8Array {
  const w = new PduWriter(512);
  w.uint8(type);
  w.uint8(0);
  const m = w.begin32();
  w.uint16(pdu.protocolVersion);
  w.uint16(0);
  writeAeTitle(w, pdu.calledAeTitle, 'called AE title');
  writeAeTitle(w, pdu.callingAeTitle, 'calling AE title');
  w.zeros(32);
  encodeAssociateItems(w, pdu, type === PduType.AAssociateRq ? 'rq' : 'ac');
  w.end32(m);
  return w.finish();
}

/** Decodes the body (the bytes after the 6-byte header). Items' byte values are views into `body`. */
export function decodeAssociatePdu(body: Uint8Array, pdu: 'rq'): AssociateFields & AssociateItems<PresentationContextRq>;
export function decodeAssociatePdu(body: Uint8Array, pdu: 'ac'): AssociateFields & AssociateItems<PresentationContextAc>;
export function decodeAssociatePdu(body: Uint8Array, pdu: 'rq' | 'ac'): AssociateFields & AssociateItems<PresentationContextRq | PresentationContextAc> {
  const r = new PduReader(body);
  const protocolVersion = r.uint16('protocol version');
  r.skip(2, 'reserved');
  r.skip(32, 'AE titles');
  const calledAeTitle = trimAeTitle(decodeAscii(body, 4, 20));
  const callingAeTitle = trimAeTitle(decodeAscii(body, 20, 36));
  r.skip(32, 'reserved');
  const items = pdu === 'rq' ? decodeAssociateItems(r, 'rq') : decodeAssociateItems(r, 'ac');
  return { protocolVersion, calledAeTitle, callingAeTitle, ...items };
}
