/**
 * Range requests (RFC 9110 §14) on a value of known length: `Range: bytes=<range-set>` with
 * int-ranges ("0-99", "500-") and suffix ranges ("-200"). A header that is not a valid bytes
 * range-set is ignored (§14.2: the whole value is sent); one with no satisfiable range is 416
 * with `Content-Range: bytes *\/<length>` (§15.5.17); ranges that overlap are coalesced (§14.6
 * allows it, and it bounds what a request can make the server send). If-Range (§13.1.5) with a
 * validator other than the current strong ETag sends the whole value.
 */
import { DicomWebError } from './http-error.js';

export interface ByteRange {
  readonly start: number;
  /** Inclusive, as in Content-Range. */
  readonly end: number;
}

/** More ranges than this in one request: the Range header field is ignored (§14.2 allows it). */
const MAX_RANGES = 64;

/**
 * The satisfiable ranges of a Range header field, in the order asked (overlapping ones merged),
 * or undefined when the whole value is to be sent.
 */
export function parseRange(header: string | undefined, total: number): ByteRange[] | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return undefined; // another unit
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return undefined;
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix > 0 && total > 0) ranges.push({ start: Math.max(0, total - suffix), end: total - 1 });
      continue;
    }
    const start = Number(r[1]);
    const last = r[2] === '' ? Infinity : Number(r[2]);
    if (last < start) return undefined; // invalid int-range: the field is ignored
    if (start < total) ranges.push({ start, end: Math.min(last, total - 1) });
  }
  if (ranges.length === 0) {
    throw new DicomWebError('ERR_DICOM_WEB_REQUEST', `Range ${header.trim()}: no range is within the ${total} bytes of the value`, 416, { headers: { 'Content-Range': `bytes */${total}` } });
  }
  return coalesce(ranges);
}

/** Merges ranges that overlap or touch, keeping the order of the first of each group. */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const overlapping = sorted.some((r, i) => i > 0 && r.start <= sorted[i - 1]!.end + 1);
  if (!overlapping) return ranges;
  const merged: Array<{ start: number; end: number }> = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** Whether an If-Range precondition lets the ranges through (§13.1.5: only a matching strong ETag does). */
export function ifRangeHolds(ifRange: string | undefined, etag: string): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  return !v.startsWith('W/') && v === etag;
}
