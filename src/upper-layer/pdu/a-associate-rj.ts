/**
 * A-ASSOCIATE-RJ PDU.
 *
 * PS3.8 §9.3.4, Table 9-21: A-ASSOCIATE-RJ PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 03H
 *   2            1       1     reserved
 *   3-6          2       4     PDU-length (00000004H)
 *   7            6       1     reserved
 *   8            7       1     Result: 1 rejected-permanent, 2 rejected-transient
 *   9            8       1     Source: 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation)
 *   10           9       1     Reason/Diag.: by source, see RejectReason in ../errors.ts
 */
import { AbortReason, PduError } from '../errors.js';
import type { RejectReason, RejectResult, RejectSource } from '../errors.js';
import { PDU_HEADER_LENGTH } from './pdu-bytes.js';
import { PduType } from './pdu-type.js';

export interface AAssociateRj {
  readonly type: typeof PduType.AAssociateRj;
  result: RejectResult;
  source: RejectSource;
  reason: RejectReason;
}

export function encodeAAssociateRj(pdu: AAssociateRj): Uint8Array {
  return Uint8Array.of(PduType.AAssociateRj, 0, 0, 0, 0, 4, 0, pdu.result, pdu.source, pdu.reason);
}

export function decodeAAssociateRj(body: Uint8Array): AAssociateRj {
  if (body.length !== 4) {
    throw new PduError(AbortReason.InvalidPduParameterValue, `A-ASSOCIATE-RJ PDU-length is ${body.length}, not 4`, 2);
  }
  const result = body[1]!;
  const source = body[2]!;
  if (result !== 1 && result !== 2) {
    throw new PduError(AbortReason.UnrecognizedPduParameter, `A-ASSOCIATE-RJ result ${result} is not 1 or 2`, PDU_HEADER_LENGTH + 1);
  }
  if (source < 1 || source > 3) {
    throw new PduError(AbortReason.UnrecognizedPduParameter, `A-ASSOCIATE-RJ source ${source} is not 1, 2 or 3`, PDU_HEADER_LENGTH + 2);
  }
  return { type: PduType.AAssociateRj, result, source, reason: body[3]! };
}
