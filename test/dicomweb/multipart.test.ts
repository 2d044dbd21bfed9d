import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { DicomError } from '../../src/core/dicom-error.js';
import { parseMultipart, writeMultipart, newBoundary, isValidBoundary } from '../../src/dicomweb/multipart/index.js';
import { parseMediaType, parseAccept, formatMediaType } from '../../src/dicomweb/media-type.js';

interface Parsed { headers: Record<string, string>; body: string }

async function* chunksOf(bytes: Uint8Array, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c > at && c < bytes.length) {
      yield bytes.subarray(at, c);
      at = c;
    }
  }
  yield bytes.subarray(at);
}

async function parseAll(source: AsyncIterable<Uint8Array>, boundary: string): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for await (const part of parseMultipart(source, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(Buffer.from(c));
    out.push({ headers: Object.fromEntries(part.headers), body: Buffer.concat(chunks).toString('latin1') });
  }
  return out;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of it) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

// RFC 2046 §5.1.1's example, with a preamble and an epilogue, a part with no header fields.
const RFC_EXAMPLE = Buffer.from([
  'This is the preamble.  It is to be ignored, though it',
  'is a handy place for composition agents to include an',
  'explanatory note to non-MIME conformant readers.',
  '',
  '--simple boundary',
  '',
  'This is implicitly typed plain US-ASCII text.',
  'It does NOT end with a linebreak.',
  '--simple boundary',
  'Content-type: text/plain; charset=us-ascii',
  '',
  'This is explicitly typed plain US-ASCII text.',
  'It DOES end with a linebreak.',
  '',
  '--simple boundary--',
  '',
  'This is the epilogue.  It is also to be ignored.',
].join('\r\n'), 'latin1');
const RFC_PARTS: Parsed[] = [
  { headers: {}, body: 'This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak.' },
  { headers: { 'content-type': 'text/plain; charset=us-ascii' }, body: 'This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n' },
];

test('parses RFC 2046 §5.1.1 example (preamble, a part without header fields, epilogue)', async () => {
  assert.deepEqual(await parseAll(chunksOf(RFC_EXAMPLE, []), 'simple boundary'), RFC_PARTS);
});

test('the same parts whatever the split: every single offset, and one byte at a time', async () => {
  for (let i = 1; i < RFC_EXAMPLE.length; i++) {
    assert.deepEqual(await parseAll(chunksOf(RFC_EXAMPLE, [i]), 'simple boundary'), RFC_PARTS, `split at ${i}`);
  }
  const bytes = Array.from({ length: RFC_EXAMPLE.length }, (_, i) => i);
  assert.deepEqual(await parseAll(chunksOf(RFC_EXAMPLE, bytes), 'simple boundary'), RFC_PARTS);
});

test('a STOW-RS style body split at every pair of offsets', async () => {
  const boundary = 'b';
  const body = Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n\r\n--\r\n-b\r\r\n--b \t\r\nContent-Type: application/dicom\r\n\r\n\r\n--b--', 'latin1');
  const expected: Parsed[] = [
    { headers: { 'content-type': 'application/dicom' }, body: '\r\n--\r\n-b\r' },
    { headers: { 'content-type': 'application/dicom' }, body: '' },
  ];
  for (let i = 1; i < body.length; i++) {
    for (let j = i + 1; j < body.length; j++) {
      assert.deepEqual(await parseAll(chunksOf(body, [i, j]), boundary), expected, `split at ${i}, ${j}`);
    }
  }
});

test('round trip through the writer and the parser, any parts, any chunking (fast-check)', async () => {
  // Bodies drawn from an alphabet rich in delimiter pieces, so near-misses of the boundary occur.
  const piece = fc.constantFrom('\r', '\n', '-', '--', '\r\n', '\r\n--', 'x', 'conduit', '\r\n--conduit-', '\x00', '\xff');
  const body = fc.array(piece, { maxLength: 30 }).map((a) => a.join(''));
  const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/);
  const part = fc.record({ headers: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), headerValue, { maxKeys: 3 }), body });
  await fc.assert(fc.asyncProperty(fc.array(part, { maxLength: 5 }), fc.array(fc.nat(400), { maxLength: 8 }), async (parts, cuts) => {
    const boundary = newBoundary();
    const written = await collect(writeMultipart(parts.map((p) => ({ headers: p.headers, body: Buffer.from(p.body, 'latin1') })), boundary));
    const parsed = await parseAll(chunksOf(written, cuts), boundary);
    assert.deepEqual(parsed, parts.map((p) => ({ headers: { ...p.headers }, body: p.body })));
  }), { numRuns: 300 });
});

test('a body is never buffered whole: the source is read only as the consumer reads (back-pressure)', async () => {
  const CHUNK = 64 * 1024;
  let pulled = 0;
  const boundary = newBoundary();
  async function* source(): AsyncGenerator<Uint8Array> {
    pulled++;
    yield Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const block = Buffer.alloc(CHUNK, 0x2d);
    for (let i = 0; i < 1000; i++) { pulled++; yield block; }
    pulled++;
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  const parts = parseMultipart(source(), boundary);
  const first = await parts.next();
  assert.equal(first.done, false);
  const body = first.value!.body[Symbol.asyncIterator]();
  const c = await body.next();
  assert.ok(!c.done && c.value.length > 0);
  assert.ok(pulled <= 3, `read ${pulled} chunks of the source to give the first body chunk`);
  let total = c.value!.length;
  for (let r = await body.next(); !r.done; r = await body.next()) {
    total += r.value.length;
    assert.ok(r.value.length <= CHUNK, 'no chunk larger than an input chunk');
  }
  assert.equal(total, 1000 * CHUNK);
  assert.equal((await parts.next()).done, true);
});

test('a large part streams in bounded memory (256 MiB through parser and writer)', async () => {
  const boundary = newBoundary();
  const block = Buffer.alloc(1024 * 1024, 0x0d);
  const SIZE = 256;
  async function* big(): AsyncGenerator<Uint8Array> { for (let i = 0; i < SIZE; i++) yield block; }
  // A full collection now and then: what is still held is then what the parser and writer keep
  // alive, not garbage the collector has not reached yet (V8 lets tens of MiB of dead external
  // memory wait, which made an RSS-only bound fail under load). Twice: the backing stores a
  // collection frees are swept after it, so the count read after one can still hold them.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const live = (): number => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
  const liveBefore = live();
  const before = process.memoryUsage().rss;
  let peak = before;
  let livePeak = liveBefore;
  let total = 0;
  let chunks = 0;
  for await (const part of parseMultipart(writeMultipart([{ headers: { 'Content-Type': 'application/dicom' }, body: big() }], boundary), boundary)) {
    for await (const c of part.body) {
      total += c.length;
      if (++chunks % 16 === 0) livePeak = Math.max(livePeak, live());
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  assert.equal(total, SIZE * block.length);
  assert.ok(livePeak - liveBefore < 8 * 1024 * 1024, `${((livePeak - liveBefore) / 1048576).toFixed(1)} MiB held while streaming`);
  assert.ok(peak - before < 64 * 1024 * 1024, `memory grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
});

test('parts left unread are skipped; a body can be read only once', async () => {
  const boundary = 'xyz';
  const body = Buffer.from('--xyz\r\nA: 1\r\n\r\nfirst\r\n--xyz\r\nA: 2\r\n\r\nsecond\r\n--xyz--\r\n');
  const seen: string[] = [];
  for await (const part of parseMultipart(chunksOf(body, [3, 9, 20]), boundary)) {
    seen.push(part.headers.get('a')!);
    if (part.index === 1) {
      assert.equal((await collect(part.body)).toString(), 'second');
      assert.throws(() => part.body[Symbol.asyncIterator](), (e: DicomError) => e.code === 'ERR_DICOM_MULTIPART');
    }
  }
  assert.deepEqual(seen, ['1', '2']);
});

test('a part says when its body has been read to its end, given up, or broken', async () => {
  const settled = async (p: Promise<void>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
  const body = Buffer.from('--b\r\n\r\nfirst\r\n--b\r\n\r\nsecond\r\n--b\r\n\r\nthird, cut short');
  const parts = parseMultipart(chunksOf(body, [12, 20]), 'b');
  const first = (await parts.next()).value!;
  assert.equal(await settled(first.ended), false, 'not read yet');
  const it = first.body[Symbol.asyncIterator]();
  await it.next();
  assert.equal(await settled(first.ended), false, 'read in part');
  assert.equal((await it.next()).done, true);
  assert.equal(await settled(first.ended), true, 'read to its end');
  assert.equal(first.broken, false);
  const second = (await parts.next()).value!;
  const it2 = second.body[Symbol.asyncIterator]();
  await it2.next();
  await it2.return!();
  assert.equal(await settled(second.ended), true, 'given up');
  assert.equal(second.broken, false);
  const third = (await parts.next()).value!;
  await assert.rejects(collect(third.body), (e: DicomError) => e.code === 'ERR_DICOM_MULTIPART');
  assert.equal(await settled(third.ended), true, 'broken');
  assert.equal(third.broken, true);
});

test('header fields: case-insensitive names, folding, repeated fields, no fields', async () => {
  const body = Buffer.from('--q\r\nContent-TYPE: application/dicom\r\nX-A: 1\r\nx-a: 2\r\nX-Long: a\r\n b\r\n\r\n\r\n--q\r\n\r\nz\r\n--q--');
  const parts = await parseAll(chunksOf(body, []), 'q');
  assert.deepEqual(parts, [
    { headers: { 'content-type': 'application/dicom', 'x-a': '1, 2', 'x-long': 'a b' }, body: '' },
    { headers: {}, body: 'z' },
  ]);
});

test('malformed bodies fail with ERR_DICOM_MULTIPART and say why', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['no boundary here', 'b', /no multipart boundary/],
    ['--b\r\nContent-Type: x\r\n\r\nunterminated', 'b', /ends inside a part/],
    ['--b\r\nContent-Type: x', 'b', /inside the header fields/],
    ['--b\r\nnot a header\r\n\r\nx\r\n--b--', 'b', /is not a header field/],
    ['--bogus\r\n\r\nx\r\n--b--', 'b', /other characters on its line/],
    ['--b', 'b', /ends after a boundary/],
    [`--b\r\nX: ${'y'.repeat(20000)}\r\n\r\n\r\n--b--`, 'b', /exceed 16384 bytes/],
  ];
  for (const [text, boundary, message] of cases) {
    await assert.rejects(parseAll(chunksOf(Buffer.from(text), [2, 7]), boundary), (e: DicomError) => e.code === 'ERR_DICOM_MULTIPART' && message.test(e.message), text.slice(0, 40));
  }
  await assert.rejects(parseAll(chunksOf(Buffer.from('--b--'), []), 'x'.repeat(257)), /not a valid multipart boundary/);
  await assert.rejects(parseAll(chunksOf(Buffer.from('--b--'), []), 'semi;colon'), /not a valid multipart boundary/);
  // Longer than RFC 2046 allows, as Orthanc sends them: accepted.
  const long = `${'d04c2037-e2a6-4d6a-8d98-fc144d0ff6ba'}-${'d04c2037-e2a6-4d6a-8d98-fc144d0ff6ba'}`;
  assert.deepEqual(await parseAll(chunksOf(Buffer.from(`--${long}\r\n\r\nx\r\n--${long}--`), []), long), [{ headers: {}, body: 'x' }]);
  const limited = parseMultipart(chunksOf(Buffer.from('--b\r\n\r\n\r\n--b\r\n\r\n\r\n--b--'), []), 'b', { maxParts: 1 });
  await assert.rejects(async () => { for await (const p of limited) void p; }, /more than 1 parts/);
});

test('an empty multipart body (no parts) round-trips', async () => {
  const boundary = newBoundary();
  const bytes = await collect(writeMultipart([], boundary));
  assert.equal(bytes.toString(), `--${boundary}--\r\n`);
  assert.deepEqual(await parseAll(chunksOf(bytes, []), boundary), []);
});

test('boundaries: RFC 2046 bchars, 1 to 70, not ending in a space', () => {
  assert.ok(isValidBoundary('simple boundary'));
  assert.ok(isValidBoundary(newBoundary()));
  assert.ok(!isValidBoundary('ends with space '));
  assert.ok(!isValidBoundary(''));
  assert.ok(!isValidBoundary('a'.repeat(71)));
  assert.ok(!isValidBoundary('semi;colon'));
});

test('media types: parameters, quoted strings, Accept lists', () => {
  const m = parseMediaType('Multipart/Related; type="application/dicom"; boundary="a;b\\"c"; transfer-syntax=1.2.840.10008.1.2.1');
  assert.equal(m.type, 'multipart/related');
  assert.equal(m.parameters.get('type'), 'application/dicom');
  assert.equal(m.parameters.get('boundary'), 'a;b"c');
  assert.equal(m.parameters.get('transfer-syntax'), '1.2.840.10008.1.2.1');
  const accept = parseAccept('multipart/related; type="application/dicom"; transfer-syntax=*, application/dicom+json;q=0.5');
  assert.deepEqual(accept.map((a) => a.type), ['multipart/related', 'application/dicom+json']);
  assert.equal(accept[1]!.parameters.get('q'), '0.5');
  assert.equal(formatMediaType('multipart/related', { type: 'application/dicom', boundary: 'x' }), 'multipart/related; type="application/dicom"; boundary=x');
  assert.throws(() => parseMediaType('nonsense'), (e: DicomError) => e.code === 'ERR_DICOM_MEDIA_TYPE');
  assert.throws(() => parseMediaType('a/b; x="unterminated'), /unterminated/);
});
