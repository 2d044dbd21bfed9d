/**
 * bin/conduit's choice of what to run (docs/adr/0017-cli-bundle.md): the bundle in dist/bundle/cli/
 * when it is at least as new as tsc's dist/src/cli/main.js, else dist/src/cli/main.js; a clear error
 * when nothing is built. Run on a copy of bin/conduit beside stand-in modules that say which ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Made {
  compiledAt?: number;
  bundledAt?: number;
  /** Another compiled module the bundle was made from (listed in its inputs), written at this time. */
  otherAt?: number;
  /** The bundle without the list of what it holds (as an older tools/bundle-cli.mjs made it). */
  noInputs?: boolean;
}

/** A package folder with bin/conduit and, as asked, a compiled and a bundled main that print their name and argv. */
function layout(dir: string, made: Made): string {
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin/conduit'), join(dir, 'bin/conduit'));
  const stand = (path: string, name: string, at: number): void => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `export async function main(argv) { process.stdout.write(${JSON.stringify(name)} + ' ' + argv.slice(2).join(' ')); }\n`);
    utimesSync(path, at, at);
  };
  if (made.compiledAt !== undefined) stand(join(dir, 'dist/src/cli/main.js'), 'compiled', made.compiledAt);
  if (made.bundledAt !== undefined) {
    stand(join(dir, 'dist/bundle/cli/main.js'), 'bundled', made.bundledAt);
    // What tools/bundle-cli.mjs records: the compiled files the bundle holds, from the package root.
    const inputs = ['dist/src/cli/main.js'];
    if (made.otherAt !== undefined) {
      stand(join(dir, 'dist/src/data/other.js'), 'other', made.otherAt);
      inputs.push('dist/src/data/other.js');
    }
    if (!made.noInputs) writeFileSync(join(dir, 'dist/bundle/cli/inputs.json'), JSON.stringify(inputs));
  }
  // The stand-ins are ES modules, as dist's are (the package is "type": "module").
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return join(dir, 'bin/conduit');
}

function run(made: Made): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-bin-'));
  try {
    const r = spawnSync(process.execPath, [layout(dir, made), 'store', '--help'], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const T = 1_700_000_000; // seconds

test('bin/conduit runs the bundle when it is as new as the compiled CLI or newer, with the arguments', () => {
  assert.deepEqual(run({ compiledAt: T, bundledAt: T + 5 }), { status: 0, stdout: 'bundled store --help', stderr: '' });
  assert.deepEqual(run({ compiledAt: T, bundledAt: T }), { status: 0, stdout: 'bundled store --help', stderr: '' });
});

test('bin/conduit runs dist/src when the bundle is older (made from an earlier compile) or absent', () => {
  assert.deepEqual(run({ compiledAt: T, bundledAt: T - 5 }), { status: 0, stdout: 'compiled store --help', stderr: '' });
  assert.deepEqual(run({ compiledAt: T }), { status: 0, stdout: 'compiled store --help', stderr: '' });
});

test('bin/conduit runs dist/src when a module the bundle holds was compiled again after it (tsc --watch rewrites only what changed)', () => {
  assert.deepEqual(run({ compiledAt: T, bundledAt: T + 5, otherAt: T + 10 }), { status: 0, stdout: 'compiled store --help', stderr: '' });
  assert.deepEqual(run({ compiledAt: T, bundledAt: T + 5, otherAt: T + 5 }), { status: 0, stdout: 'bundled store --help', stderr: '' });
  assert.deepEqual(run({ compiledAt: T, bundledAt: T + 5, noInputs: true }), { status: 0, stdout: 'compiled store --help', stderr: '' }, 'nothing says what the bundle holds');
});

test('bin/conduit with nothing compiled says to build, and fails', () => {
  for (const made of [{}, { bundledAt: T }]) {
    const r = run(made);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /dist\/src\/cli\/main\.js\) is missing: run npm install/);
    assert.equal(r.stdout, '');
  }
});
