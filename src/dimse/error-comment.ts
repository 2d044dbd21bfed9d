/**
 * Error Comment (0000,0902) is LO (PS3.7 Annex C, PS3.5 Table 6.2-1): at most 64 characters of the
 * default repertoire, no backslash, and a command set has no Specific Character Set to widen it.
 * It often carries an exception's message, which can be longer: it is then cut at a word boundary
 * and ends with "..." so that a reader sees it was shortened and no word is left half.
 */

/** The longest Error Comment (LO). */
export const ERROR_COMMENT_MAX = 64;

const ELLIPSIS = '...';

/** `text` as an Error Comment: default repertoire only ('?' for others, '/' for a backslash), at most `max` characters. */
export function fitErrorComment(text: string, max = ERROR_COMMENT_MAX): string {
  const clean = text.replace(/\\/g, '/').replace(/[^\x20-\x7e]/g, '?').trim();
  if (clean.length <= max) return clean;
  const room = max - ELLIPSIS.length;
  // At the last space or end of a clause (": ", "; ") that fits, whichever comes later ("...of the
  // PATIENT level...", not "...of the PATIENT..." before a colon just past the last space that
  // fits); when that leaves less than half the room, a long word (a UID, a path) is cut instead.
  const at = Math.max(clean.lastIndexOf(' ', room), ...[': ', '; '].map((mark) => clean.lastIndexOf(mark, room)));
  const cut = at >= room / 2 ? clean.slice(0, at) : clean.slice(0, room);
  return `${cut.replace(/[\s,;:.(-]+$/, '')}${ELLIPSIS}`;
}
