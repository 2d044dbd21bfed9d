/** The Verification Service Class (PS3.4 Annex A): C-ECHO on the Verification SOP Class. */
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
