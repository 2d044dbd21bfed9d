/**
 * `conduit store` describes the files as it sends them (ADR 0024): the first association carries
 * the kinds (SOP class and transfer syntax) of the first DESCRIBED_BEFORE_CONNECT files and opens
 * before the others are read; files of those kinds go as they are met, in the order named, files of
 * other kinds on the next association; a file that is not DICOM is skipped with a note when met.
 * Every file arrives once, unchanged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DicomServer } from '../../src/ae/index.js';
import { DESCRIBED_BEFORE_CONNECT } from '../../src/cli/commands/store.js';
import { writeReceivedObject } from '../../src/services/storage/part10-sink.js';
import { peer } from '../helpers/peers.js';
import { compareAll, conduit, roundsOfUniqueInstances, storableCorpus, TEST_FILES, type CorpusFile } from '../helpers/network.js';

let work: string;
let corpus: CorpusFile[] = [];
const noFiles = existsSync(join(TEST_FILES, 'CT_small.dcm')) ? peer('pydicom') : 'pydicom test files are not installed';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'conduit-store-order-'));
  corpus = await storableCorpus();
});
after(() => rmSync(work, { recursive: true, force: true }));

const kindOf = (f: CorpusFile): string => `${f.sopClassUid}|${f.transferSyntaxUid}`;

/** Two kinds of files with three instances each (unique instances), and a file that is not DICOM. */
function twoKinds(): { a: CorpusFile[]; b: CorpusFile[]; junk: string } {
  const round = roundsOfUniqueInstances(corpus)[0]!;
  const byKind = new Map<string, CorpusFile[]>();
  for (const f of round) {
    const list = byKind.get(kindOf(f)) ?? [];
    list.push(f);
    byKind.set(kindOf(f), list);
  }
  const kinds = [...byKind.values()].filter((l) => l.length >= 3);
  assert.ok(kinds.length >= 2, 'two kinds of files with three instances each');
  const junk = join(work, 'notes.txt');
  writeFileSync(junk, 'not DICOM\n');
  return { a: kinds[0]!.slice(0, 3), b: kinds[1]!.slice(0, 3), junk };
}

interface Received {
  /** Per association, in order: the SOP classes of its accepted contexts and the instances stored. */
  associations: { proposed: string[]; stored: string[] }[];
  folder: string;
}

/** Runs `conduit store` with `named` into a DicomServer that notes each association's contexts and stores. */
async function storeInto(named: readonly string[], folder: string): Promise<Received & { stdout: string; stderr: string; status: number | null }> {
  const received = join(work, folder);
  mkdirSync(received);
  const associations: Received['associations'] = [];
  const byConnection = new Map<string, Received['associations'][number]>();
  const server = new DicomServer({
    aeTitle: 'ORDER',
    handlers: {
      store: async (req) => {
        let entry = byConnection.get(req.association.connectionId);
        if (entry === undefined) {
          const proposed = req.association.association.acceptedPresentationContexts().map((pc) => pc.abstractSyntax);
          entry = { proposed: [...new Set(proposed)].sort(), stored: [] };
          byConnection.set(req.association.connectionId, entry);
          associations.push(entry);
        }
        entry.stored.push(req.sopInstanceUid);
        await writeReceivedObject(received, { ...req, sourceAet: req.association.callingAeTitle }, req.dataSet);
      },
    },
  });
  const { port } = await server.listen();
  try {
    const r = await conduit(['store', '127.0.0.1', String(port), ...named]);
    return { ...r, associations, folder: received };
  } finally {
    await server.close({ abort: true });
  }
}

test('store: a small set of two kinds goes on one association, in the order named; the file that is not DICOM skipped with a note', { skip: noFiles }, async () => {
  const { a, b, junk } = twoKinds();
  const r = await storeInto([a[0]!.path, b[0]!.path, junk, a[1]!.path, b[1]!.path], 'small');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sent 4, failed 0, warnings 0, skipped 1;/);
  assert.match(r.stderr, /skipped \S+notes\.txt: not a DICOM file/);
  assert.equal(r.associations.length, 1, JSON.stringify(r.associations));
  assert.deepEqual(r.associations[0]!.proposed, [...new Set([a[0]!.sopClassUid, b[0]!.sopClassUid])].sort());
  assert.deepEqual(r.associations[0]!.stored, [a[0]!, b[0]!, a[1]!, b[1]!].map((f) => f.sopInstanceUid));
  assert.deepEqual(await compareAll([a[0]!, b[0]!, a[1]!, b[1]!], r.folder), []);
});

test('store: past the files described before connecting, a kind not among theirs goes on the next association, each file once, in the order named', { skip: noFiles }, async () => {
  const { a, b, junk } = twoKinds();
  // The first DESCRIBED_BEFORE_CONNECT named are all a[0]; then b0 junk a1 b1 a2 b2.
  const first = Array.from({ length: DESCRIBED_BEFORE_CONNECT }, () => a[0]!.path);
  const r = await storeInto([...first, b[0]!.path, junk, a[1]!.path, b[1]!.path, a[2]!.path, b[2]!.path], 'large');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^sent ${DESCRIBED_BEFORE_CONNECT + 5}, failed 0, warnings 0, skipped 1;`));
  assert.match(r.stderr, /skipped \S+notes\.txt: not a DICOM file/);
  assert.equal(r.associations.length, 2, JSON.stringify(r.associations.map((x) => x.proposed)));
  assert.deepEqual(r.associations[0]!.proposed, [a[0]!.sopClassUid]);
  assert.deepEqual(r.associations[0]!.stored, [...first.map(() => a[0]!.sopInstanceUid), a[1]!.sopInstanceUid, a[2]!.sopInstanceUid]);
  assert.deepEqual(r.associations[1]!.stored, b.map((f) => f.sopInstanceUid));
  assert.deepEqual(await compareAll([...a, ...b], r.folder), []);
});

test('store: files of one kind go on one association, in the order named, each once', { skip: noFiles }, async () => {
  const round = roundsOfUniqueInstances(corpus)[0]!;
  const kind = kindOf(round[0]!);
  const same = round.filter((f) => kindOf(f) === kind);
  // Each named twice over: sent twice, in order (the read-ahead of the next file must be that file).
  const named = [...same, ...same];
  const stored: string[] = [];
  const connections = new Set<string>();
  const server = new DicomServer({
    aeTitle: 'ORDER',
    handlers: {
      store: async (req) => {
        connections.add(req.association.connectionId);
        stored.push(req.sopInstanceUid);
        req.dataSet.discard();
      },
    },
  });
  const { port } = await server.listen();
  try {
    const r = await conduit(['store', '127.0.0.1', String(port), ...named.map((f) => f.path)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(connections.size, 1);
    assert.deepEqual(stored, named.map((f) => f.sopInstanceUid));
  } finally {
    await server.close({ abort: true });
  }
});
