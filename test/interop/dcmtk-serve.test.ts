/**
 * DCMTK against `conduit serve`: storescu stores, findscu queries (Study Root, STUDY level), and a
 * Japanese name stored in ISO 2022 IR 87 comes back intact in the C-FIND response.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';

const env = { ...process.env, TCP_NODELAY: '1' };
const FILES = [join(PYDICOM_DATA, 'test_files', 'CT_small.dcm'), join(PYDICOM_DATA, 'test_files', 'MR_small.dcm'), join(PYDICOM_DATA, 'charset_files', 'chrH31.dcm')];

/** Runs a peer tool without blocking the event loop (the server under test runs in this process). */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr}`))));
  });
}

test('storescu into conduit serve, then findscu finds the studies and the Japanese name intact', { skip: peer('dcmtk') }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-dcmtk-'));
  const out = mkdtempSync(join(tmpdir(), 'conduit-findscu-'));
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
  try {
    const port = String(server.dimsePort);
    await run('storescu', ['-aec', 'ARCHIVE', '127.0.0.1', port, ...FILES]);
    assert.equal((await server.archive.index.stats()).instances, 3);

    await run('findscu', ['-S', '-aec', 'ARCHIVE', '-X', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName=*', '-k', 'StudyInstanceUID', '-k', 'NumberOfStudyRelatedInstances', '127.0.0.1', port]);
    const responses = await Promise.all(readdirSync(out).filter((f) => f.startsWith('rsp')).map((f) => readFile(join(out, f))));
    const expected = (await Promise.all(FILES.map((f) => readFile(f)))).map((f) => f.dataSet.string(0x0020000d)!).sort();
    assert.deepEqual(responses.map((r) => r.dataSet.string(0x0020000d)!).sort(), expected);
    for (const r of responses) assert.equal(r.dataSet.number(0x00201208), 1);

    for (const f of readdirSync(out)) rmSync(join(out, f));
    await run('findscu', ['-S', '-aec', 'ARCHIVE', '-X', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName=Yamada*', '-k', 'StudyInstanceUID', '127.0.0.1', port]);
    const japanese = await Promise.all(readdirSync(out).filter((f) => f.startsWith('rsp')).map((f) => readFile(join(out, f))));
    assert.equal(japanese.length, 1);
    const name = japanese[0]!.dataSet.personName(0x00100010)!;
    assert.equal(name.ideographic, '山田^太郎');
    assert.equal(name.phonetic, 'やまだ^たろう');
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});
