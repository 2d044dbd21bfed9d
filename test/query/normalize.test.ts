import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysInMonth, normalizeDate, normalizeDateTime } from '../../src/query/normalize.js';

test('daysInMonth: what Date counts (proleptic Gregorian) for every month of the years a DA or DT can name', () => {
  const d = new Date(0);
  for (let year = 0; year <= 9999; year++) {
    for (let month = 1; month <= 12; month++) {
      d.setUTCFullYear(year, month, 0);
      if (daysInMonth(year, month) !== d.getUTCDate()) assert.fail(`${year}-${month}: ${daysInMonth(year, month)}, Date says ${d.getUTCDate()}`);
    }
  }
});

test('normalizeDate and normalizeDateTime: leap days only in leap years (every 4th, not every 100th, every 400th)', () => {
  assert.equal(normalizeDate('20240229'), '20240229');
  assert.equal(normalizeDate('20230229'), undefined);
  assert.equal(normalizeDate('19000229'), undefined);
  assert.equal(normalizeDate('20000229'), '20000229');
  assert.equal(normalizeDate('2024.04.31'), undefined);
  assert.equal(normalizeDate('20241231'), '20241231');
  assert.equal(normalizeDateTime('21000229'), undefined);
  assert.equal(normalizeDateTime('190002'), '19000201000000.000000');
});
