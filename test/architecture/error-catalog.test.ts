import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('every DicomError code is documented in docs/errors.md', () => {
  const source = readFileSync(resolve(ROOT, 'src/core/dicom-error.ts'), 'utf8');
  const docs = readFileSync(resolve(ROOT, 'docs/errors.md'), 'utf8');
  const codes = [...source.matchAll(/'(ERR_DICOM_[A-Z0-9_]+)'/g)].map((m) => m[1]!);
  assert.ok(codes.length > 10, 'the catalog was found');
  const missing = [...new Set(codes)].filter((c) => !docs.includes(c));
  assert.deepEqual(missing, []);
});
