/**
 * A-RELEASE-RP PDU.
 *
 * PS3.8 §9.3.7, Table 9-25: A-RELEASE-RP PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 06H
 *   2            1       1     reserved
 *   3-6          2       4     PDU-length (00000004H)
 *   7-10         6       4     reserved (sent 00000000H, not tested)
 */
import { AbortReason, PduError } from '../errors.js';
import { PduType } from './pdu-type.js';

export interface AReleaseRp {
  readonly type: typeof PduType.AReleaseRp;
}

export function encodeAReleaseRp(): Uint8Array {
  return Uint8Array.of(PduType.AReleaseRp, 0, 0, 0, 0, 4, 0, 0, 0, 0);
}

export function decodeAReleaseRp(body: Uint8Array): AReleaseRp {
  if (body.length !== 4) throw new PduError(AbortReason.InvalidPduParameterValue, `A-RELEASE-RP PDU-length is ${body.length}, not 4`, 2);
  return { type: PduType.AReleaseRp };
}
