/**
 * A-RELEASE-RQ PDU.
 *
 * PS3.8 §9.3.6, Table 9-24: A-RELEASE-RQ PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 05H
 *   2            1       1     reserved
 *   3-6          2       4     PDU-length (00000004H)
 *   7-10         6       4     reserved (sent 00000000H, not tested)
 */
import { AbortReason, PduError } from '../errors.js';
import { PduType } from './pdu-type.js';

export interface AReleaseRq {
  readonly type: typeof PduType.AReleaseRq;
}

export function encodeAReleaseRq(): Uint8Array {
  return Uint8Array.of(PduType.AReleaseRq, 0, 0, 0, 0, 4, 0, 0, 0, 0);
}

export function decodeAReleaseRq(body: Uint8Array): AReleaseRq {
  if (body.length !== 4) throw new PduError(AbortReason.InvalidPduParameterValue, `A-RELEASE-RQ PDU-length is ${body.length}, not 4`, 2);
  return { type: PduType.AReleaseRq };
}
