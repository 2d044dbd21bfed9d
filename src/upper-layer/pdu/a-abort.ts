/**
 * A-ABORT PDU.
 *
 * PS3.8 §9.3.8, Table 9-26: A-ABORT PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 07H
 *   2            1       1     reserved
 *   3-6          2       4     PDU-length (00000004H)
 *   7            6       1     reserved
 *   8            7       1     reserved
 *   9            8       1     Source: 0 service-user, 1 reserved, 2 service-provider
 *   10           9       1     Reason/Diag.: significant for source 2 (0 not specified, 1 unrecognized PDU,
 *                              2 unexpected PDU, 4 unrecognized PDU parameter, 5 unexpected PDU parameter,
 *                              6 invalid PDU parameter value); 0 otherwise
 */
import { AbortReason, PduError } from '../errors.js';
import type { AbortSource } from '../errors.js';
import { PDU_HEADER_LENGTH } from './pdu-bytes.js';
import { PduType } from './pdu-type.js';

export interface AAbort {
  readonly type: typeof PduType.AAbort;
  source: AbortSource;
  reason: AbortReason;
}

export function encodeAAbort(pdu: AAbort): Uint8Array {
  return Uint8Array.of(PduType.AAbort, 0, 0, 0, 0, 4, 0, 0, pdu.source, pdu.reason);
}

export function decodeAAbort(body: Uint8Array): AAbort {
  if (body.length !== 4) throw new PduError(AbortReason.InvalidPduParameterValue, `A-ABORT PDU-length is ${body.length}, not 4`, 2);
  const source = body[2]!;
  if (source > 2) throw new PduError(AbortReason.UnrecognizedPduParameter, `A-ABORT source ${source} is not 0, 1 or 2`, PDU_HEADER_LENGTH + 2);
  return { type: PduType.AAbort, source, reason: body[3]! };
}
