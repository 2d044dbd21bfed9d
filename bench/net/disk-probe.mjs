#!/usr/bin/env node
/**
 * The disk's own limit for durable per-file writes, measured in the benchmark's output folder in
 * the same run: COUNT files of SIZE bytes (a CT of the corpus) written one after the other
 *   durable   as `conduit listen` does by default: open (O_CREAT|O_EXCL) a temporary name, write,
 *             fdatasync, close, rename into place, fsync the folder (no network, no DICOM);
 *   fsync     open, write, fsync, close (what /work/shared/bench/m-limits-disk.sh measures);
 *   nosync    open, write, close (what storescp does).
 *   node bench/net/disk-probe.mjs DIR [COUNT=300] [SIZE=525870]
 * Prints one line per mode: "MODE SECONDS COUNT".
 */
import fs from 'node:fs';
import { join } from 'node:path';

const [dir, countText = '300', sizeText = '525870'] = process.argv.slice(2);
const count = Number(countText);
const buf = Buffer.alloc(Number(sizeText), 0x33);
fs.mkdirSync(dir, { recursive: true });
for (const mode of ['durable', 'fsync', 'nosync']) {
  const sub = join(dir, mode);
  fs.mkdirSync(sub);
  const dfd = fs.openSync(sub, 'r');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const name = join(sub, `f${i}.dcm`);
    if (mode === 'durable') {
      const tmp = join(sub, `.f${i}.partial`);
      const fd = fs.openSync(tmp, 'wx');
      fs.writeSync(fd, buf);
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, name);
      fs.fsyncSync(dfd);
    } else {
      const fd = fs.openSync(name, 'w');
      fs.writeSync(fd, buf);
      if (mode === 'fsync') fs.fsyncSync(fd);
      fs.closeSync(fd);
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.closeSync(dfd);
  fs.rmSync(sub, { recursive: true, force: true });
  process.stdout.write(`${mode} ${seconds.toFixed(4)} ${count}\n`);
}
