/**
 * Lower layers never import higher ones (../shared/conventions.md, "Layout"). The allowed edges
 * are listed here; a new import outside them fails this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

// Each layer may import itself and the layers listed.
const ALLOWED: Record<string, string[]> = {
  core: [],
  dictionary: ['core', 'data'],
  data: ['core', 'dictionary'],
  media: ['core', 'dictionary', 'data'],
  'upper-layer': ['core'],
  dimse: ['core', 'dictionary', 'data', 'upper-layer'],
  query: ['core', 'dictionary', 'data'],
  storage: ['core', 'dictionary', 'data', 'media', 'query'],
  services: ['core', 'dictionary', 'data', 'media', 'dimse', 'query', 'storage'],
  ae: ['core', 'dictionary', 'data', 'media', 'upper-layer', 'dimse', 'services'],
  dicomweb: ['core', 'dictionary', 'data', 'media', 'query', 'services', 'storage'],
  rtv: ['core', 'dictionary', 'data'],
  cli: ['core', 'dictionary', 'data', 'media', 'upper-layer', 'dimse', 'query', 'services', 'ae', 'dicomweb', 'rtv', 'storage', 'server'],
  // the public library entry re-exports the layers users build on
  'index.ts': ['core', 'dictionary', 'data', 'media', 'upper-layer', 'dimse', 'query', 'services', 'ae', 'dicomweb', 'rtv', 'storage'],
  server: ['core', 'dictionary', 'data', 'media', 'upper-layer', 'dimse', 'query', 'services', 'ae', 'dicomweb', 'rtv', 'storage'],
};
// `dictionary` may import only the VR type from `data`; the type import is erased at run time.

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Finds the violations in a set of (file, imports) pairs; exported shape kept small for the self-test. */
function violations(files: Array<{ layer: string; file: string; imports: string[] }>): string[] {
  const found: string[] = [];
  for (const { layer, file, imports } of files) {
    for (const target of imports) {
      if (target === layer) continue;
      if (!(ALLOWED[layer] ?? []).includes(target)) found.push(`${file}: layer '${layer}' imports '${target}'`);
    }
  }
  return found;
}

function scan(): Array<{ layer: string; file: string; imports: string[] }> {
  return sourceFiles(ROOT).map((file) => {
    const rel = relative(ROOT, file);
    const layer = rel.split(sep)[0]!;
    const text = readFileSync(file, 'utf8');
    const imports: string[] = [];
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
      const target = relative(ROOT, resolve(dirname(file), m[1]!)).split(sep)[0]!;
      imports.push(target);
    }
    return { layer, file: rel, imports };
  });
}

test('every top-level folder of src/ is a known layer', () => {
  for (const name of readdirSync(ROOT)) {
    assert.ok(name in ALLOWED, `unknown layer src/${name}`);
  }
});

test('no layer imports a higher one', () => {
  assert.deepEqual(violations(scan()), []);
});

test('the check itself catches an upward import', () => {
  assert.deepEqual(violations([{ layer: 'data', file: 'data/x.ts', imports: ['upper-layer'] }]), ["data/x.ts: layer 'data' imports 'upper-layer'"]);
});

test('nothing imports server', () => {
  const bad = scan().filter((f) => f.layer !== 'server' && f.layer !== 'cli' && f.imports.includes('server'));
  assert.deepEqual(bad, []);
});
