/**
 * All PDUs as one union, with decode/encode by PDU-type (PS3.8 §9.3.1). The framer (../pdu-framer.ts)
 * cuts the byte stream into (type, body) pairs; decodePdu turns a pair into a PDU.
 */
import { AbortReason, PduError } from '../errors.js';
import { decodeAAbort, encodeAAbort } from './a-abort.js';
import type { AAbort } from './a-abort.js';
import { decodeAAssociateAc, encodeAAssociateAc } from './a-associate-ac.js';
import type { AAssociateAc } from './a-associate-ac.js';
import { decodeAAssociateRj, encodeAAssociateRj } from './a-associate-rj.js';
import type { AAssociateRj } from './a-associate-rj.js';
import { decodeAAssociateRq, encodeAAssociateRq } from './a-associate-rq.js';
import type { AAssociateRq } from './a-associate-rq.js';
import { decodeAReleaseRp, encodeAReleaseRp } from './a-release-rp.js';
import type { AReleaseRp } from './a-release-rp.js';
import { decodeAReleaseRq, encodeAReleaseRq } from './a-release-rq.js';
import type { AReleaseRq } from './a-release-rq.js';
import { decodePDataTf, encodePDataTf } from './p-data-tf.js';
import type { PDataTf } from './p-data-tf.js';
import { PduType, pduTypeName } from './pdu-type.js';

export type Pdu = AAssociateRq | AAssociateAc | AAssociateRj | PDataTf | AReleaseRq | AReleaseRp | AAbort;

/**
 * Decodes a PDU body (the bytes after the 6-byte header). Throws PduError with the A-ABORT reason:
 * 1 for an unrecognized PDU-type, 4/5/6 for a bad parameter.
 */
export function decodePdu(type: number, body: Uint8Array): Pdu {
  switch (type) {
    case PduType.AAssociateRq: return decodeAAssociateRq(body);
    case PduType.AAssociateAc: return decodeAAssociateAc(body);
    case PduType.AAssociateRj: return decodeAAssociateRj(body);
    case PduType.PDataTf: return decodePDataTf(body);
    case PduType.AReleaseRq: return decodeAReleaseRq(body);
    case PduType.AReleaseRp: return decodeAReleaseRp(body);
    case PduType.AAbort: return decodeAAbort(body);
    default: throw new PduError(AbortReason.UnrecognizedPdu, `${pduTypeName(type)} is not a PDU of PS3.8 §9.3`, 0);
  }
}

/** Encodes a whole PDU into one buffer. For P-DATA-TF on the wire prefer encodePDataTfParts (no payload copy). */
export function encodePdu(pdu: Pdu): Uint8Array {
  switch (pdu.type) {
    case PduType.AAssociateRq: return encodeAAssociateRq(pdu);
    case PduType.AAssociateAc: return encodeAAssociateAc(pdu);
    case PduType.AAssociateRj: return encodeAAssociateRj(pdu);
    case PduType.PDataTf: return encodePDataTf(pdu.presentationDataValues);
    case PduType.AReleaseRq: return encodeAReleaseRq();
    case PduType.AReleaseRp: return encodeAReleaseRp();
    case PduType.AAbort: return encodeAAbort(pdu);
  }
}
