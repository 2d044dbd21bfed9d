/**
 * What a plain `conduit store` loads before it sends (docs/adr/0023-store-start-up.md): node:tls,
 * node:crypto, node:zlib and iconv-lite only when the run needs them (TLS, a deflated data set,
 * text in a character set Node lacks), so that a TCP store does not pay for them at its start. The
 * process runs as a user runs it (node bin/conduit), with a module given to --import that reports,
 * as the process exits, which of Node's modules and which CommonJS files were loaded. A store over
 * TLS through the CLI is tested in network-cli.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DicomServer } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { encodeFile } from '../../src/media/part10.js';
import { conduit } from '../helpers/network.js';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

let work: string;
let hook: string;
let server: DicomServer;
let port: number;
let received: string[];

/** A CT image's Part 10 file in `transferSyntaxUid`, with a value in `charset` when given. */
function writeInstance(name: string, uid: string, transferSyntaxUid: string, charset?: string): string {
  const ds = new DataSet();
  if (charset !== undefined) ds.set(0x00080005, 'CS', charset);
  ds.set(0x00080016, 'UI', CT_IMAGE_STORAGE);
  ds.set(0x00080018, 'UI', uid);
  ds.set(0x00100010, 'PN', charset === undefined ? 'Start^Up' : '王^小東');
  ds.set(0x7fe00010, 'OW', new Uint8Array(4096).fill(7));
  const meta = buildFileMeta({ sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: uid, transferSyntaxUid });
  const path = join(work, name);
  writeFileSync(path, encodeFile({ preamble: null, meta, dataSet: ds, transferSyntaxUid, warnings: [] }));
  return path;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'conduit-store-start-'));
  hook = join(work, 'report-loaded.mjs');
  // Node's own modules as process.moduleLoadList names them; CommonJS files from require.cache.
  writeFileSync(hook, `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const native = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  process.stderr.write('LOADED ' + JSON.stringify({ native, commonjs: Object.keys(require.cache) }) + '\\n');
});
`);
  received = [];
  server = new DicomServer({
    aeTitle: 'STARTUP',
    handlers: {
      store: async (req) => {
        for await (const chunk of req.dataSet) void chunk;
        received.push(req.sopInstanceUid);
        return undefined;
      },
    },
  });
  port = (await server.listen()).port;
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** `conduit store` of the files through the --import hook: its exit status and what it loaded. */
async function storeReporting(files: readonly string[]): Promise<{ status: number | null; stderr: string; native: string[]; commonjs: string[] }> {
  const r = await conduit(['store', '--aec', 'STARTUP', '127.0.0.1', String(port), ...files], {
    env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(hook).href}` },
  });
  const line = /^LOADED (.*)$/m.exec(r.stderr);
  assert.ok(line, `the hook reported nothing: ${r.stderr}`);
  const loaded = JSON.parse(line[1]!) as { native: string[]; commonjs: string[] };
  return { status: r.status, stderr: r.stderr, ...loaded };
}

test('a plain store loads neither TLS, crypto, zlib nor iconv-lite', async () => {
  const file = writeInstance('plain.dcm', '2.25.2301', EXPLICIT_VR_LITTLE_ENDIAN);
  const r = await storeReporting([file]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(received.includes('2.25.2301'));
  for (const name of ['tls', 'crypto', 'zlib']) assert.ok(!r.native.includes(name), `node:${name} was loaded: ${r.native.join(' ')}`);
  assert.deepEqual(r.commonjs.filter((path) => path.includes('iconv-lite')), []);
  // The check above can fail: the hook sees modules the CLI loads (net, to connect).
  assert.ok(r.native.includes('net'));
});

test('a deflated data set and a GB18030 value load zlib and iconv-lite when needed, and are sent', async () => {
  const deflated = writeInstance('deflated.dcm', '2.25.2302', DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN);
  const r = await storeReporting([deflated]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(received.includes('2.25.2302'));
  // The scan cannot read a deflated data set's UIDs from its first bytes: describeFile inflates it.
  assert.ok(r.native.includes('zlib'), r.native.join(' '));
  // Text in GB18030 is decoded with iconv-lite (dump reads the values; store sends bytes as they are).
  const text = writeInstance('gb18030.dcm', '2.25.2303', EXPLICIT_VR_LITTLE_ENDIAN, 'GB18030');
  const dumped = await conduit(['dump', text], { env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(hook).href}` } });
  assert.equal(dumped.status, 0, dumped.stderr);
  assert.match(dumped.stdout, /王\^小東/);
  const loaded = JSON.parse(/^LOADED (.*)$/m.exec(dumped.stderr)![1]!) as { commonjs: string[] };
  assert.ok(loaded.commonjs.some((path) => path.includes('iconv-lite')), 'iconv-lite decoded the GB18030 value');
});
