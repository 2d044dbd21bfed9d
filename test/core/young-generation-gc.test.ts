/** ReceiveCollector: a young-generation collection (scavenge) per `every` bytes received, none when off. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { DEFAULT_COLLECT_EVERY, ReceiveCollector } from '../../src/core/young-generation-gc.js';

/** Minor collections V8 reports while `fn` runs (perf_hooks 'gc' entries, delivered asynchronously). */
async function minorCollectionsDuring(fn: () => void): Promise<number> {
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return minor;
}

test('a scavenge per `every` bytes received, counted across calls', async () => {
  const collector = new ReceiveCollector(1 << 20);
  // 40 chunks of 256 KiB = 10 MiB: 10 scavenges; the loop itself allocates nothing.
  const n = await minorCollectionsDuring(() => {
    for (let i = 0; i < 40; i++) collector.received(256 << 10);
  });
  assert.ok(n >= 10, `${n} minor collections for 10 MiB received every 1 MiB`);
});

test('every = 0 turns it off; the default is 4 MiB', async () => {
  const off = new ReceiveCollector(0);
  const n = await minorCollectionsDuring(() => {
    for (let i = 0; i < 40; i++) off.received(256 << 10);
  });
  assert.ok(n < 3, `${n} minor collections with the collector off`);
  assert.equal(new ReceiveCollector().every, DEFAULT_COLLECT_EVERY);
  assert.equal(DEFAULT_COLLECT_EVERY, 4 << 20);
});
