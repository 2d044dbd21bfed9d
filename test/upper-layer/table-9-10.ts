/**
 * PS3.8 §9.2.3, Table 9-10, transcribed from the standard for the tests, independently of
 * src/upper-layer/state-machine.ts: GRID.get('Evt10/Sta6') is { action: 'DT-2', next: ['Sta6'] }.
 */
import assert from 'node:assert/strict';
import type { State } from '../../src/upper-layer/index.js';

// Columns Sta1..Sta13; '.' is an empty cell; 'AE-6:3|13' means next state Sta3 or Sta13.
export const TABLE_9_10 = `
Evt1   AE-1:4  .       .       .       .       .       .       .       .       .       .        .       .
Evt2   .       .       .       AE-2:5  .       .       .       .       .       .       .        .       .
Evt3   .       AA-1:13 AA-8:13 .       AE-3:6  AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13  AA-8:13 AA-6:13
Evt4   .       AA-1:13 AA-8:13 .       AE-4:1  AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13  AA-8:13 AA-6:13
Evt5   AE-5:2  .       .       .       .       .       .       .       .       .       .        .       .
Evt6   .       AE-6:3|13 AA-8:13 .     AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13  AA-8:13 AA-7:13
Evt7   .       .       AE-7:6  .       .       .       .       .       .       .       .        .       .
Evt8   .       .       AE-8:13 .       .       .       .       .       .       .       .        .       .
Evt9   .       .       .       .       .       DT-1:6  .       AR-7:8  .       .       .        .       .
Evt10  .       AA-1:13 AA-8:13 .       AA-8:13 DT-2:6  AR-6:7  AA-8:13 AA-8:13 AA-8:13 AA-8:13  AA-8:13 AA-6:13
Evt11  .       .       .       .       .       AR-1:7  .       .       .       .       .        .       .
Evt12  .       AA-1:13 AA-8:13 .       AA-8:13 AR-2:8  AR-8:9|10 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-6:13
Evt13  .       AA-1:13 AA-8:13 .       AA-8:13 AA-8:13 AR-3:1  AA-8:13 AA-8:13 AR-10:12 AR-3:1 AA-8:13 AA-6:13
Evt14  .       .       .       .       .       .       .       AR-4:13 AR-9:11 .       .        AR-4:13 .
Evt15  .       .       AA-1:13 AA-2:1  AA-1:13 AA-1:13 AA-1:13 AA-1:13 AA-1:13 AA-1:13 AA-1:13  AA-1:13 .
Evt16  .       AA-2:1  AA-3:1  .       AA-3:1  AA-3:1  AA-3:1  AA-3:1  AA-3:1  AA-3:1  AA-3:1   AA-3:1  AA-2:1
Evt17  .       AA-5:1  AA-4:1  AA-4:1  AA-4:1  AA-4:1  AA-4:1  AA-4:1  AA-4:1  AA-4:1  AA-4:1   AA-4:1  AR-5:1
Evt18  .       AA-2:1  .       .       .       .       .       .       .       .       .        .       AA-2:1
Evt19  .       AA-1:13 AA-8:13 .       AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13 AA-8:13  AA-8:13 AA-7:13
`;

export interface Expected { action: string; next: State[] }
export const GRID = new Map<string, Expected | undefined>();
for (const line of TABLE_9_10.trim().split('\n')) {
  const [event, ...cells] = line.trim().split(/\s+/);
  assert.equal(cells.length, 13, `row ${event}`);
  cells.forEach((c, i) => {
    const key = `${event}/Sta${i + 1}`;
    if (c === '.') GRID.set(key, undefined);
    else {
      const [action, next] = c.split(':') as [string, string];
      GRID.set(key, { action, next: next.split('|').map((n) => `Sta${n}` as State) });
    }
  });
}

