/**
 * The child process of crash.test.ts: floods an archive with generated instances (8 stores at a
 * time) and prints "ACK <SOP Instance UID> <sha256 of the data set bytes>" for each store whose
 * promise resolved, until it is killed. Usage: node crash-child.js <archive dir> [first index]
 */
import { createHash } from 'node:crypto';
import { crashInstance, dataSetChunks, openArchive, storeInput } from './helpers.js';

const [dir, firstText] = process.argv.slice(2);
const archive = openArchive(dir!);
let next = Number(firstText ?? 0);

async function worker(): Promise<never> {
  for (;;) {
    const i = next++;
    const ds = crashInstance(i);
    const chunks = dataSetChunks(ds);
    const hash = createHash('sha256');
    for (const c of chunks) hash.update(c);
    const input = storeInput(ds, 'CRASH');
    const result = await archive.storeInstance(input);
    if (result.status !== 'inserted') throw new Error(`unexpected ${result.status} for ${input.sopInstanceUid}`);
    // Writes to a pipe are synchronous on Linux: the line is in the pipe before the next store starts.
    process.stdout.write(`ACK ${input.sopInstanceUid} ${hash.digest('hex')}\n`);
  }
}

process.stdout.write('READY\n');
await Promise.all(Array.from({ length: 8 }, worker));
