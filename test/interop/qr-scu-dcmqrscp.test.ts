/**
 * Conduit's Query/Retrieve SCU (conduit find / move / get, client.find) against DCMTK's dcmqrscp,
 * started here on a free port with a configuration written to a temporary folder: AE QRSCP, its
 * database filled with dcmqridx from pydicom's test files, and the in-process Move Destination (AE
 * DEST) in its host table. The tests themselves are shared with the Orthanc ones (qr-scu-suite).
 */
import { before, after } from 'node:test';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DicomServer } from '../../src/ae/index.js';
import { peer } from '../helpers/peers.js';
import { run, startOnFreePort, type Background } from '../helpers/network.js';
import { defineQrScuTests, qrFiles, startDestination, type QrFile } from '../helpers/qr-scu-suite.js';

const skip = peer('dcmtk');
let work: string;
let files: QrFile[] = [];
let dest: { server: DicomServer; port: number };
let qrscp: { proc: Background; port: number };

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-qr-dcmqrscp-'));
  files = await qrFiles();
  dest = await startDestination('DEST', join(work, 'dest'));
  const db = join(work, 'db', 'QRSCP');
  mkdirSync(db, { recursive: true });
  for (const f of files) copyFileSync(f.path, join(db, f.name));
  const idx = await run('dcmqridx', [db, ...files.map((f) => join(db, f.name))]);
  if (idx.status !== 0) throw new Error(`dcmqridx failed:\n${idx.stderr}`);
  const config = join(work, 'dcmqrscp.cfg');
  writeFileSync(config, [
    'MaxPDUSize = 16384',
    'MaxAssociations = 16',
    'HostTable BEGIN',
    `dest = (DEST, 127.0.0.1, ${dest.port})`,
    'HostTable END',
    'VendorTable BEGIN',
    'VendorTable END',
    'AETable BEGIN',
    `QRSCP ${db} RW (100, 1024mb) ANY`,
    'AETable END',
    '',
  ].join('\n'));
  // dcmqrscp takes the port as its last argument (over NetworkTCPPort in the file).
  qrscp = await startOnFreePort('dcmqrscp', 'dcmqrscp', (port) => ['-c', config, String(port)]);
});

after(async () => {
  await qrscp?.proc.stop('SIGTERM');
  await dest?.server.close({ abort: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

defineQrScuTests('dcmqrscp', skip, () => ({
  host: '127.0.0.1', port: qrscp.port, aeTitle: 'QRSCP', destination: 'DEST', destinationOut: join(work, 'dest'), files, getGoesOnAfterFailure: true,
}), () => work);
