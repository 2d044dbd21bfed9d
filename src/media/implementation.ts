/** Conduit's identity in File Meta Information and association negotiation (PS3.7 D.3.3.2). */
export const IMPLEMENTATION_CLASS_UID = '2.25.199013578184697353197470002896295498442';
/** At most 16 characters (SH). */
export const IMPLEMENTATION_VERSION_NAME = 'CONDUIT_0_1_0';
