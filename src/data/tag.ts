/**
 * Tags are 32-bit numbers: group in the high 16 bits, element in the low 16 (PS3.5 §7.1).
 */
export type Tag = number;

export function tag(group: number, element: number): Tag {
  return ((group << 16) | element) >>> 0;
}
export function tagGroup(t: Tag): number {
  return t >>> 16;
}
export function tagElement(t: Tag): number {
  return t & 0xffff;
}
/** "(0010,0010)" */
export function formatTag(t: Tag): string {
  const hex = (t >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
/** "00100010", the form used by the JSON model (PS3.18 F.2.1.1). */
export function tagHex(t: Tag): string {
  // Digit by digit: a third of toString(16).toUpperCase().padStart(8, '0'), on the path of every
  // attribute written as DICOM JSON.
  return HEX_DIGITS[(t >>> 28) & 15]! + HEX_DIGITS[(t >>> 24) & 15]! + HEX_DIGITS[(t >>> 20) & 15]! + HEX_DIGITS[(t >>> 16) & 15]!
    + HEX_DIGITS[(t >>> 12) & 15]! + HEX_DIGITS[(t >>> 8) & 15]! + HEX_DIGITS[(t >>> 4) & 15]! + HEX_DIGITS[t & 15]!;
}
const HEX_DIGITS: readonly string[] = '0123456789ABCDEF'.split('');
/** Accepts "00100010", "(0010,0010)", "0010,0010", "x00100010". */
export function parseTag(text: string): Tag | undefined {
  const m = /^\(?x?([0-9a-fA-F]{4}),?([0-9a-fA-F]{4})\)?$/.exec(text.trim());
  if (!m) return undefined;
  return tag(parseInt(m[1]!, 16), parseInt(m[2]!, 16));
}
/** Private tags have an odd group number (PS3.5 §7.8). Groups 0001, 0003, 0005, 0007 and FFFF are not allowed. */
export function isPrivateTag(t: Tag): boolean {
  return (tagGroup(t) & 1) === 1;
}
/** (gggg,0010)-(gggg,00FF) in a private group reserve a block (PS3.5 §7.8.1). */
export function isPrivateCreator(t: Tag): boolean {
  const e = tagElement(t);
  return isPrivateTag(t) && e >= 0x10 && e <= 0xff;
}
/** The private creator element that reserves the block of a private data element, e.g. (0009,1001) -> (0009,0010). */
export function privateCreatorTagOf(t: Tag): Tag | undefined {
  const e = tagElement(t);
  if (!isPrivateTag(t) || e < 0x1000) return undefined;
  return tag(tagGroup(t), e >>> 8);
}
export function isGroupLength(t: Tag): boolean {
  return tagElement(t) === 0;
}

// PS3.5 §7.5: item and delimitation tags.
export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;
export const SPECIFIC_CHARACTER_SET = 0x00080005;
export const TRANSFER_SYNTAX_UID = 0x00020010;
export const UNDEFINED_LENGTH = 0xffffffff;
