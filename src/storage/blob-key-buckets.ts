/**
 * Keys for new blobs, "<hhhh>.<UUID>": the four hex digits name the directory a filesystem blob
 * store puts the blob in (filesystem-blob-store.ts), so that blobs stored one after the other
 * share a directory. Each store under way holds its bucket alone, so concurrent stores write into
 * different directories and never wait for each other's directory fsync (a shared one serialised
 * them: 10-20% slower with 4 at a time, measured); a bucket is used for `perBucket` blobs, then
 * a new random one is drawn.
 *
 * Why not a random directory per blob (a UUID's hash): on a fresh or large archive nearly every
 * blob then lands in a directory just made or not recently used: a mkdir, its entry flushed into
 * the parent, and the directory opened, fsync'd and closed again, 4-6 more thread-pool round
 * trips per object. With buckets the directory is made once per `perBucket` blobs and its handle
 * stays open (store-phases.mjs, one store at a time: 1.5-1.7 against 3.4-3.7 ms wall and 1.6-1.9
 * against 2.3-2.7 ms CPU per store).
 */
import { randomBytes, randomUUID } from 'node:crypto';

interface Bucket {
  readonly prefix: string;
  left: number;
}

export class BlobKeyBuckets {
  private readonly free: Bucket[] = [];

  constructor(private readonly perBucket = 1024) {}

  /** A new key, and the function to call once its store has ended. */
  take(): { key: string; release: () => void } {
    const bucket = this.free.pop() ?? { prefix: randomBytes(2).toString('hex'), left: this.perBucket };
    bucket.left--;
    return {
      key: `${bucket.prefix}.${randomUUID()}`,
      release: () => {
        if (bucket.left > 0) this.free.push(bucket);
      },
    };
  }
}
