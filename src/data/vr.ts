/** Value Representations, PS3.5 §6.2, Table 6.2-1. */
export const VRS = [
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW',
  'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
] as const;
export type VR = (typeof VRS)[number];

const VR_SET: ReadonlySet<string> = new Set(VRS);
export function isVR(text: string): text is VR {
  return VR_SET.has(text);
}

/** Explicit VR with a 2-byte reserved field and a 32-bit length, PS3.5 §7.1.2, Table 7.1-1. */
const LONG_HEADER: ReadonlySet<VR> = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
export function hasLongExplicitHeader(vr: VR): boolean {
  return LONG_HEADER.has(vr);
}

/** Character string VRs (PS3.5 §6.2). */
const STRING_VRS: ReadonlySet<VR> = new Set<VR>(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
export function isStringVR(vr: VR): boolean {
  return STRING_VRS.has(vr);
}
/** VRs whose text is decoded with the Specific Character Set; the others use the default repertoire (PS3.5 §6.1.2.3). */
const CHARSET_VRS: ReadonlySet<VR> = new Set<VR>(['SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN']);
export function usesSpecificCharacterSet(vr: VR): boolean {
  return CHARSET_VRS.has(vr);
}
/** String VRs that hold a single value: backslash is not a delimiter (PS3.5 §6.2). */
const SINGLE_VALUED_STRINGS: ReadonlySet<VR> = new Set<VR>(['LT', 'ST', 'UT', 'UR']);
export function isMultiValuedString(vr: VR): boolean {
  return STRING_VRS.has(vr) && !SINGLE_VALUED_STRINGS.has(vr);
}
/** Leading spaces are significant in LT, ST, UT (and UR may not have them); trailing ones are padding. */
export function keepsLeadingSpaces(vr: VR): boolean {
  return vr === 'LT' || vr === 'ST' || vr === 'UT';
}

/** Size in bytes of one value of a fixed-size binary VR, or 0 for others. Also the unit of byte swapping. */
export function binaryValueSize(vr: VR): number {
  switch (vr) {
    case 'SS': case 'US': case 'OW': case 'AT': return 2;
    case 'SL': case 'UL': case 'FL': case 'OF': case 'OL': return 4;
    case 'FD': case 'OD': case 'SV': case 'UV': case 'OV': return 8;
    default: return 0;
  }
}
/** Binary VRs that JSON and XML carry as InlineBinary / BulkData (PS3.18 F.2.7). */
const BULK_VRS: ReadonlySet<VR> = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
export function isBulkVR(vr: VR): boolean {
  return BULK_VRS.has(vr);
}
/** Padding byte for odd-length values: NUL for UI and binary VRs, space for the other strings (PS3.5 §6.2). */
export function paddingByte(vr: VR): number {
  return vr === 'UI' || !STRING_VRS.has(vr) ? 0x00 : 0x20;
}
