/**
 * What DIMSE exchanges with the Upper Layer: Presentation Data Values, each one fragment of a
 * message's command or data set with its Message Control Header already split out
 * (PS3.8 §9.3.5.1, Annex E.2).
 *
 * This is the interface contract with src/upper-layer, declared here (structurally identical)
 * until the Upper Layer exports its own.
 */

export interface PresentationDataValue {
  /** Odd number 1..255 naming a presentation context accepted on the association (PS3.8 §9.3.2.2). */
  presentationContextId: number;
  /** Message Control Header bit 0: the fragment is command information, else data set. */
  isCommand: boolean;
  /** Message Control Header bit 1: the last fragment of the command or of the data set. */
  isLast: boolean;
  /** The fragment, without the Message Control Header. */
  data: Uint8Array;
}

/** Sends one P-DATA-TF PDU holding these PDVs; resolves when the transport can take more. */
export type SendPData = (pdvs: PresentationDataValue[]) => Promise<void>;

/** PS3.8 §9.3.5, Table 9-22: PDU-type, reserved, PDU-length. */
export const P_DATA_TF_HEADER_LENGTH = 6;
/** PS3.8 §9.3.5.1, Table 9-23: Item-length (4), Presentation-context-ID (1), and the Message Control Header (1). */
export const PDV_ITEM_OVERHEAD = 6;

/** PS3.8 Annex E.2: bit 0 command, bit 1 last fragment; bits 2-7 sent as 0 and never checked. */
export function messageControlHeader(isCommand: boolean, isLast: boolean): number {
  return (isCommand ? 0x01 : 0x00) | (isLast ? 0x02 : 0x00);
}

export function parseMessageControlHeader(byte: number): { isCommand: boolean; isLast: boolean } {
  return { isCommand: (byte & 0x01) !== 0, isLast: (byte & 0x02) !== 0 };
}

/**
 * The length of the variable field of a P-DATA-TF PDU carrying these PDVs: what the peer's
 * Maximum Length Received limits (PS3.8 Annex D.1).
 */
export function pDataTfVariableLength(pdvs: readonly PresentationDataValue[]): number {
  let n = 0;
  for (const pdv of pdvs) n += PDV_ITEM_OVERHEAD + pdv.data.length;
  return n;
}
