/**
 * Transfer syntax properties the codec needs (PS3.5 §10, Annex A). The dictionary knows every
 * transfer syntax UID; this module says how each encodes a data set.
 */
export interface TransferSyntax {
  uid: string;
  explicitVR: boolean;
  littleEndian: boolean;
  /** Deflated Explicit VR Little Endian (PS3.5 A.5): everything after the File Meta Information is raw deflate. */
  deflated: boolean;
  /** Pixel data is encapsulated (PS3.5 A.4). */
  encapsulated: boolean;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
/** Encapsulated Uncompressed Explicit VR Little Endian (PS3.5 A.4.11) */
export const ENCAPSULATED_UNCOMPRESSED = '1.2.840.10008.1.2.1.98';

const NATIVE: Record<string, TransferSyntax> = {
  [IMPLICIT_VR_LITTLE_ENDIAN]: { uid: IMPLICIT_VR_LITTLE_ENDIAN, explicitVR: false, littleEndian: true, deflated: false, encapsulated: false },
  [EXPLICIT_VR_LITTLE_ENDIAN]: { uid: EXPLICIT_VR_LITTLE_ENDIAN, explicitVR: true, littleEndian: true, deflated: false, encapsulated: false },
  [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]: { uid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, explicitVR: true, littleEndian: true, deflated: true, encapsulated: false },
  [EXPLICIT_VR_BIG_ENDIAN]: { uid: EXPLICIT_VR_BIG_ENDIAN, explicitVR: true, littleEndian: false, deflated: false, encapsulated: false },
};

/** Uncompressed transfer syntaxes Conduit can transcode among (PS3.5 A.1-A.3, A.5). */
export const UNCOMPRESSED_TRANSFER_SYNTAXES: readonly string[] = [
  EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
];

/**
 * Properties of a transfer syntax UID. Every transfer syntax other than the native ones above is
 * explicit VR little endian with encapsulated pixel data (PS3.5 §10.1, A.4), including private
 * ones, which is how peers treat an unknown compressed syntax.
 */
export function transferSyntax(uid: string): TransferSyntax {
  const known = NATIVE[uid];
  if (known) return known;
  return { uid, explicitVR: true, littleEndian: true, deflated: false, encapsulated: true };
}

export function isUncompressed(uid: string): boolean {
  return NATIVE[uid] !== undefined;
}
