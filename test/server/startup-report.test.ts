/**
 * What `conduit serve` says at start about damage from outside its archive folder (README, "Setting
 * up"): files the index does not know, index entries whose file is gone. Lines an administrator
 * reads: the count in words that agree with it, the folder to look in, the names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { CT, ctSeries, logRecorder, storeInto } from './retrieve-helpers.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

async function start(dataDir: string) {
  const recorder = logRecorder();
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }), recorder.log);
  return { server, lines: recorder.lines };
}

test('startup report: one stray file and one lost object are counted in the singular, with the blobs folder named', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-startup-report-'));
  try {
    const first = await start(dataDir);
    await storeInto(first.server, [], await ctSeries(2));
    await first.server.close();
    const blobs = join(dataDir, 'blobs');
    const [lost] = filesUnder(blobs);
    unlinkSync(lost!);
    const someBucket = join(lost!, '..');
    copyFileSync(CT, join(someBucket, 'stray-copy.dcm'));

    const second = await start(dataDir);
    await second.server.close();
    assert.ok(second.lines.includes(`1 file in ${blobs} is not in the index (kept, not served); its name: stray-copy.dcm`), second.lines.join('\n'));
    assert.ok(second.lines.includes(`1 indexed instance has lost its stored object in ${blobs} (index entries kept); each follows`), second.lines.join('\n'));
    assert.equal(second.lines.filter((l) => /^indexed instance 1\.2\.826\.0\.1\.3680043\.8\.498\.77\.\d has lost its stored object \S+$/.test(l)).length, 1);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('startup report: files outside the blob folders\' layout (the top folder, a folder of another name, a name no blob has) are reported too, and kept', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-startup-report-'));
  try {
    const first = await start(dataDir);
    await storeInto(first.server, [], await ctSeries(1));
    await first.server.close();
    const blobs = join(dataDir, 'blobs');
    const [stored] = filesUnder(blobs);
    const bucket = join(stored!, '..');
    copyFileSync(CT, join(blobs, 'CT_small.dcm'));
    mkdirSync(join(blobs, 'import'));
    copyFileSync(CT, join(blobs, 'import', 'a.dcm'));
    writeFileSync(join(bucket, '..', 'notes.txt'), 'x');
    writeFileSync(join(bucket, 'with space.dcm'), 'x');

    const second = await start(dataDir);
    await second.server.close();
    const names = ['CT_small.dcm', 'import/a.dcm', `${join(bucket, '..').slice(blobs.length + 1)}/notes.txt`,
      `${bucket.slice(blobs.length + 1)}/with space.dcm`].sort();
    assert.ok(second.lines.includes(`4 files in ${blobs} are outside its folder layout (kept, not served); their names: ${names.join(', ')}`), second.lines.join('\n'));
    assert.equal(second.lines.filter((l) => /not in the index|lost its stored object/.test(l)).length, 0, second.lines.join('\n'));
    for (const f of ['CT_small.dcm', 'import/a.dcm']) assert.ok(statSync(join(blobs, f)).isFile(), `${f} kept`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
