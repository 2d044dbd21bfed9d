import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DelimiterSearch } from '../../src/dicomweb/multipart/delimiter-search.js';
import { parseMultipart } from '../../src/dicomweb/multipart/index.js';

// Binary bytes rich in CR and in the boundary's first byte, as 16-bit pixel data is in CR, with
// near misses of the delimiter: the boundary without its CRLF "--", or with only part of it.
function noisyBody(boundary: string, length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  const nearMisses = [`${boundary}`, `\n--${boundary}`, `\r\n-${boundary}`, `\r--${boundary}`, `\r\n--${boundary.slice(0, -1)}`, '\r\n--', '\r\r\n'];
  for (let i = 0; i < length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const r = x >>> 24;
    if (r < 6) {
      const s = nearMisses[r % nearMisses.length]!;
      i += out.write(s, i, 'latin1');
    } else out[i++] = r < 60 ? 0x0d : r < 110 ? boundary.charCodeAt(0) : x & 0xff;
  }
  return out;
}

test('finds the first delimiter where Buffer.indexOf does, after choosing its anchor from a sample (fast-check)', () => {
  fc.assert(fc.property(
    fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=?]{1,40}$/), fc.nat(), fc.integer({ min: 4096, max: 20_000 }), fc.array(fc.nat(), { maxLength: 3 }),
    (boundary, seed, length, at) => {
      const body = noisyBody(boundary, length, seed);
      const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
      for (const a of at) body.write(delimiter.toString('latin1'), a % (length - delimiter.length), 'latin1');
      const search = new DelimiterSearch(boundary);
      assert.equal(search.indexIn(body), body.indexOf(delimiter));
      // Then on smaller pieces (as a body's chunks come), the anchor once chosen.
      for (let from = 0; from < length; from += 997) {
        const piece = body.subarray(from, from + 1500);
        assert.equal(search.indexIn(piece), piece.indexOf(delimiter), `boundary ${boundary}, piece at ${from}`);
      }
    }), { numRuns: 300 });
});

test('the anchor starts at the boundary byte rarest in the sample, not at a common one', () => {
  const boundary = 'Xconduit-0123456789';
  const search = new DelimiterSearch(boundary);
  assert.equal(search.anchorAt, 4, 'before any sample: the whole dash-boundary after CRLF "--"');
  // The sample is full of the boundary's first byte ('X') and of CR.
  const body = Buffer.alloc(8192, 'X\r', 'latin1');
  assert.equal(search.indexIn(body), -1);
  assert.notEqual(search.anchorAt, 4);
  assert.notEqual(String.fromCharCode(search.delimiter[search.anchorAt]!), 'X');
  assert.ok(search.delimiter.length - search.anchorAt >= 8, 'anchors stay at least 8 bytes long for a boundary that long');
  // Still the right answer afterwards, including a delimiter that starts in the sample's pattern.
  const withDelimiter = Buffer.concat([body, Buffer.from(`\r\n--${boundary}`, 'latin1'), body]);
  assert.equal(search.indexIn(withDelimiter), body.length);
});

test('a body of noisy 64 KiB parts parses to the same parts whatever the split, with the anchor moved off the first byte', async () => {
  const boundary = 'Qb0undary';
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts = [noisyBody(boundary, 65_536, 7), noisyBody(boundary, 10_000, 8), noisyBody(boundary, 5, 9)];
  // The near misses stay; whole delimiters that the noise put together are broken up.
  for (const p of parts) for (let i = p.indexOf(delimiter); i >= 0; i = p.indexOf(delimiter)) p[i] = 0;
  const body = Buffer.concat([
    ...parts.flatMap((p) => [Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'), p]),
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]).subarray(2);
  const anchorOf = new DelimiterSearch(boundary);
  anchorOf.indexIn(body.subarray(0, 65_536));
  assert.notEqual(anchorOf.anchorAt, 4, 'the sample is rich in the boundary\'s first byte');
  const splits = [1, 100, 4095, 4096, 4097, 65_535, 65_536, 65_600, 70_000];
  for (const size of splits) {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
    }
    const got: Buffer[] = [];
    for await (const part of parseMultipart(chunks(), boundary)) {
      const bytes: Buffer[] = [];
      for await (const c of part.body) bytes.push(Buffer.from(c));
      got.push(Buffer.concat(bytes));
    }
    assert.equal(got.length, parts.length, `chunks of ${size}`);
    got.forEach((g, i) => assert.ok(g.equals(parts[i]!), `part ${i}, chunks of ${size}`));
  }
});

test('the anchor is chosen again as later chunks come: a first chunk of one value (air) says nothing', () => {
  const boundary = '7d4c7f2a-3b1e-4c55';
  const search = new DelimiterSearch(boundary);
  assert.equal(search.indexIn(Buffer.alloc(65_536, 0)), -1);
  assert.equal(search.anchorAt, 4, 'no byte of the boundary seen: the longest anchor');
  // Then data in which the boundary's digits are common and its letters absent.
  const digits = Buffer.alloc(65_536, '0123456789\x00\x01', 'latin1');
  assert.equal(search.indexIn(digits), -1);
  assert.equal(String.fromCharCode(search.delimiter[search.anchorAt]!), 'd');
  const body = Buffer.concat([digits, Buffer.from(`\r\n--${boundary}`, 'latin1'), digits]);
  assert.equal(search.indexIn(body), digits.length);
});

test('a boundary shorter than 8 bytes is searched whole (an anchor of one common byte would be slower)', () => {
  for (const boundary of ['0', 'ab', 'x1y2z3w']) {
    const search = new DelimiterSearch(boundary);
    const data = Buffer.alloc(65_536, `${boundary}\r\n-`, 'latin1');
    assert.equal(search.indexIn(data), -1);
    assert.equal(search.anchorAt, 0, boundary);
    const body = Buffer.concat([data, Buffer.from(`\r\n--${boundary}`, 'latin1')]);
    assert.equal(search.indexIn(body), data.length, boundary);
  }
});
