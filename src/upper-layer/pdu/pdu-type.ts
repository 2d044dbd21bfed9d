/** PS3.8 §9.3.1: the seven PDU types, by their PDU-type byte. */
export const PduType = {
  AAssociateRq: 0x01,
  AAssociateAc: 0x02,
  AAssociateRj: 0x03,
  PDataTf: 0x04,
  AReleaseRq: 0x05,
  AReleaseRp: 0x06,
  AAbort: 0x07,
} as const;
export type PduType = (typeof PduType)[keyof typeof PduType];

const NAMES: Record<number, string> = {
  1: 'A-ASSOCIATE-RQ', 2: 'A-ASSOCIATE-AC', 3: 'A-ASSOCIATE-RJ', 4: 'P-DATA-TF', 5: 'A-RELEASE-RQ', 6: 'A-RELEASE-RP', 7: 'A-ABORT',
};

export function isPduType(type: number): type is PduType {
  return type >= 1 && type <= 7;
}

/** The standard's name of a PDU type, e.g. 'A-ASSOCIATE-RQ'. */
export function pduTypeName(type: number): string {
  return NAMES[type] ?? `unknown PDU type ${type.toString(16).toUpperCase().padStart(2, '0')}H`;
}
