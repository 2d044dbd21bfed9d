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
const LONG_HEADER = flags(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
export function hasLongExplicitHeader(vr: VR): boolean {
  return LONG_HEADER[vr];
}

/** A VR -> boolean table: a property load, cheaper than Set.has on the parser's hot path. */
function flags(list: readonly VR[]): Readonly<Record<VR, boolean>> {
  const out = {} as Record<VR, boolean>;
  for (const vr of VRS) out[vr] = list.includes(vr);
  return out;
}

/** Character string VRs (PS3.5 §6.2). */
const STRING_VRS = flags(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
export function isStringVR(vr: VR): boolean {
  return STRING_VRS[vr] === true;
}
/** VRs whose text is decoded with the Specific Character Set; the others use the default repertoire (PS3.5 §6.1.2.3). */
const CHARSET_VRS = flags(['SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN']);
export function usesSpecificCharacterSet(vr: VR): boolean {
  return CHARSET_VRS[vr] === true;
}
/** String VRs that hold a single value: backslash is not a delimiter (PS3.5 §6.2). */
const MULTI_VALUED_STRINGS = flags(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'PN', 'SH', 'TM', 'UC', 'UI']);
export function isMultiValuedString(vr: VR): boolean {
  return MULTI_VALUED_STRINGS[vr] === true;
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
const BULK_VRS = flags(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
export function isBulkVR(vr: VR): boolean {
  return BULK_VRS[vr] === true;
}
/** Padding byte for odd-length values: NUL for UI and binary VRs, space for the other strings (PS3.5 §6.2). */
export function paddingByte(vr: VR): number {
  return vr === 'UI' || !STRING_VRS[vr] ? 0x00 : 0x20;
}
