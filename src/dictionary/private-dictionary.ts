/**
 * Private data elements by private creator, from pydicom's copy of GDCM's private dictionary
 * (./generated/private-tags.cts). PS3.5 §7.8.1: a creator reserves a block (gggg,xx00-xxFF) through
 * the element (gggg,00xx), and the same creator may land in a different block in another data set;
 * so an entry is found by the creator, the group and the element's low byte, whatever the block.
 *
 * Most programs never need these few hundred kilobytes of rows: they are required on the first
 * lookup, not at import, and a creator's block is parsed the first time that creator is looked up.
 */
import { createRequire } from 'node:module';
import type { TagEntry } from './entries.js';
import { vrList, withTag } from './tag-dictionary.js';

type PrivateTable = typeof import('./generated/private-tags.cjs');
const require = createRequire(import.meta.url);

interface CreatorTable {
  /** Entries for one fixed tag (gggg,eeee). */
  exact: Map<number, TagEntry>;
  /** (gggg,xxee) keyed by gggg << 8 | ee. */
  anyBlock: Map<number, TagEntry>;
  /** (ggxx,xxee) keyed by gg << 8 | ee: a creator used across a range of groups. */
  anyGroupAndBlock: Map<number, TagEntry>;
}

let blockOf: Map<string, number> | undefined;
let blocks: readonly string[] = [];
const tables: Array<CreatorTable | undefined> = [];

function buildIndex(): Map<string, number> {
  const { PRIVATE_BLOCKS } = require('./generated/private-tags.cjs') as PrivateTable;
  blocks = PRIVATE_BLOCKS;
  const index = new Map<string, number>();
  for (let i = 0; i < PRIVATE_BLOCKS.length; i++) {
    const block = PRIVATE_BLOCKS[i]!;
    index.set(block.slice(0, block.indexOf('\n')), i);
  }
  return (blockOf = index);
}

function parseBlock(i: number): CreatorTable {
  const table: CreatorTable = { exact: new Map(), anyBlock: new Map(), anyGroupAndBlock: new Map() };
  const lines = blocks[i]!.split('\n');
  for (let n = 1; n < lines.length; n++) {
    const f = lines[n]!.split('|');
    const key = f[0]!;
    const entry = (tag: number): TagEntry =>
      Object.freeze({ tag, vrs: vrList(f[1]!), vm: f[2]!, keyword: '', name: f[3]!, retired: f[4] === 'R' });
    const low = parseInt(key.slice(6), 16);
    if (key.slice(2, 6) === 'xxxx') {
      const gg = parseInt(key.slice(0, 2), 16);
      table.anyGroupAndBlock.set((gg << 8) | low, entry(((gg << 24) | 0x00011000 | low) >>> 0));
    } else if (key.slice(4, 6) === 'xx') {
      const group = parseInt(key.slice(0, 4), 16);
      table.anyBlock.set((group << 8) | low, entry(((group << 16) | 0x1000 | low) >>> 0));
    } else {
      const tag = parseInt(key, 16);
      table.exact.set(tag, entry(tag));
    }
  }
  return (tables[i] = table);
}

function creatorTable(creator: string): CreatorTable | undefined {
  const index = blockOf ?? buildIndex();
  // The creator is an LO value: leading and trailing spaces are padding (PS3.5 §6.2).
  const i = index.get(creator) ?? index.get(creator.trim());
  return i === undefined ? undefined : (tables[i] ?? parseBlock(i));
}

/**
 * The private dictionary's entry for `tag` in the block reserved by `creator` (the value of the
 * private creator element), or undefined. The block byte of the element does not matter:
 * (0029,1010) and (0029,1110) are the same element of two blocks. `tag` in the result is the tag
 * asked for; private entries have no keyword. The lookup order (gggg,eeee), (gggg,xxee),
 * (ggxx,xxee) is pydicom's.
 */
export function lookupPrivateTag(creator: string, tag: number): TagEntry | undefined {
  const table = creatorTable(creator);
  if (table === undefined) return undefined;
  const t = tag >>> 0;
  let entry = table.exact.get(t);
  if (entry === undefined) {
    const element = t & 0xffff;
    if (element < 0x1000) return undefined; // a creator element (gggg,00xx) or outside any block
    const low = element & 0xff;
    const group = t >>> 16;
    entry = table.anyBlock.get((group << 8) | low) ?? table.anyGroupAndBlock.get(((group >>> 8) << 8) | low);
    if (entry === undefined) return undefined;
  }
  return entry.tag === t ? entry : withTag(entry, t);
}

/** The private creators the dictionary knows, e.g. 'SIEMENS CSA HEADER'. */
export function privateCreators(): string[] {
  return [...(blockOf ?? buildIndex()).keys()];
}
