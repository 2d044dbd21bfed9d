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
  // The last space that leaves at least half the room: a long word (a UID, a path) is cut instead
  // of dropping most of the comment.
  const space = clean.lastIndexOf(' ', room);
  const cut = space >= room / 2 ? clean.slice(0, space) : clean.slice(0, room);
  return `${cut.replace(/[\s,;:.(-]+$/, '')}${ELLIPSIS}`;
}
