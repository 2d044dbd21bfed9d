/**
 * Where the code elements return to their initial state (PS3.5 §6.1.2.5.3): at CR, LF, FF and
 * TAB (the standard says before any control character other than ESC, and that the Value 1 set is
 * active at the start of each line and page), at the backslash between values (not in the single
 * valued LT, ST, UT, UR, where it is a character), and at '^' and '=' in PN.
 */
import type { VR } from '../vr.js';

const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const EQUALS = 0x3d;

/** A 128-entry table: 1 where that GL byte is a delimiter for the VR. */
export type DelimiterTable = Uint8Array;

function table(...bytes: number[]): DelimiterTable {
  const t = new Uint8Array(128);
  for (const b of bytes) t[b] = 1;
  return t;
}

const TEXT = table(TAB, LF, FF, CR);
const MULTI_VALUED = table(TAB, LF, FF, CR, BACKSLASH);
const PERSON_NAME = table(TAB, LF, FF, CR, BACKSLASH, CARET, EQUALS);

export function delimitersFor(vr: VR): DelimiterTable {
  switch (vr) {
    case 'PN': return PERSON_NAME;
    case 'LT': case 'ST': case 'UT': case 'UR': return TEXT;
    default: return MULTI_VALUED;
  }
}
