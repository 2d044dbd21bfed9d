#!/usr/bin/env node
/**
 * STOW-RS request bodies (multipart/related; type="application/dicom") from Part 10 files, in the
 * format of /work/shared/bench/make-stow.py (so Conduit and Orthanc get the bodies the anchors used):
 *   node bench/dicomweb/make-stow.mjs OUTDIR BATCH LISTFILE   -> OUTDIR/bodyNNNN.mpr, BATCH files each
 * LISTFILE names one file a line. Boundary: DICOMTSBENCHBOUNDARY (the Content-Type must name it).
 */
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

const [out, batchText, list] = process.argv.slice(2);
if (!out || !batchText || !list) {
  console.error('usage: make-stow.mjs OUTDIR BATCH LISTFILE');
  process.exit(2);
}
const batch = Number(batchText);
const files = readFileSync(list, 'utf8').split('\n').filter(Boolean);
const B = 'DICOMTSBENCHBOUNDARY';
mkdirSync(out, { recursive: true });
for (let n = 0, i = 0; i < files.length; n++, i += batch) {
  const f = createWriteStream(join(out, `body${String(n).padStart(4, '0')}.mpr`));
  const write = async (b) => { if (!f.write(b)) await once(f, 'drain'); };
  for (const p of files.slice(i, i + batch)) {
    await write(Buffer.from(`--${B}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'));
    await write(readFileSync(p));
    await write(Buffer.from('\r\n', 'latin1'));
  }
  f.end(Buffer.from(`--${B}--\r\n`, 'latin1'));
  await once(f, 'finish');
}
