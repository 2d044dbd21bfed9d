/**
 * Finding a multipart delimiter (CRLF "--" boundary, RFC 2046 §5.1.1) in body bytes, fast on
 * binary parts.
 *
 * `Buffer.indexOf(delimiter)` is as slow as the delimiter's first byte, CR, is common in the data:
 * the native search looks for that byte (memchr) and compares from each one it finds. 16-bit pixel
 * data holds CR (0x0D) once in ~125 bytes (the benchmark's CT, where it was 0.14 ms of a STOW-RS
 * instance's ~2 ms of server CPU). So the search looks for a suffix of the delimiter (the anchor)
 * that starts at one of the boundary's bytes, the one least frequent in a sample of the body, and
 * checks the bytes before each match. Any suffix finds the same first delimiter: a delimiter at `i`
 * is an anchor match at `i + anchorAt` whose preceding bytes are the delimiter's. A boundary
 * shorter than MIN_ANCHOR is searched whole, as before: an anchor of one or two common bytes
 * (boundary "0") would return to JavaScript at each of them, several times slower.
 */

/**
 * The anchor is chosen again after each of the first SAMPLED_CHUNKS chunks of at least
 * MIN_SAMPLED_CHUNK bytes, from the counts of SAMPLES_PER_CHUNK bytes spread over each, added up:
 * a CT's first rows are often all air, one value, and say nothing of the rest (~0.5 us a chunk).
 */
const SAMPLED_CHUNKS = 16;
const SAMPLES_PER_CHUNK = 128;
const MIN_SAMPLED_CHUNK = 4096;
/** Shortest anchor: a longer one is compared by the native search, not here. */
const MIN_ANCHOR = 8;
/** `CRLF "--"` before the boundary in a delimiter. */
const DASH_BOUNDARY_AT = 4;

export class DelimiterSearch {
  readonly delimiter: Buffer;
  /** Where in the delimiter the anchor starts. */
  private at = DASH_BOUNDARY_AT;
  private anchor: Buffer;
  /** Chunks left to sample. */
  private toSample = SAMPLED_CHUNKS;
  private readonly counts = new Uint32Array(256);

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    if (boundary.length < MIN_ANCHOR) {
      this.at = 0;
      this.toSample = 0;
    }
    this.anchor = this.delimiter.subarray(this.at);
  }

  /** Where the anchor starts in the delimiter (for tests). */
  get anchorAt(): number {
    return this.at;
  }

  /** Index of the first delimiter in `buf`, or -1. */
  indexIn(buf: Buffer): number {
    if (this.toSample > 0 && buf.length >= MIN_SAMPLED_CHUNK) this.choose(buf);
    const k = this.at;
    const d = this.delimiter;
    for (let from = k; ;) {
      const p = buf.indexOf(this.anchor, from);
      if (p < 0) return -1;
      const start = p - k;
      let j = 0;
      while (j < k && buf[start + j] === d[j]) j++;
      if (j === k) return start;
      from = p + 1;
    }
  }

  /**
   * Adds the counts of bytes spread over `buf` (an odd stride, so both bytes of 16-bit values) and
   * picks the anchor: the boundary's least frequent byte so far, the earliest (longest anchor) of
   * equals.
   */
  private choose(buf: Buffer): void {
    this.toSample--;
    const counts = this.counts;
    const stride = Math.floor(buf.length / SAMPLES_PER_CHUNK) | 1;
    for (let i = stride >> 1; i < buf.length; i += stride) counts[buf[i]!]!++;
    const d = this.delimiter;
    let best = DASH_BOUNDARY_AT;
    for (let j = DASH_BOUNDARY_AT + 1; j <= d.length - MIN_ANCHOR; j++) if (counts[d[j]!]! < counts[d[best]!]!) best = j;
    if (best !== this.at) {
      this.at = best;
      this.anchor = d.subarray(best);
    }
  }
}
