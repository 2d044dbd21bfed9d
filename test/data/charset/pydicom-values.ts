/**
 * Raw bytes and pydicom's decoded text of every SH, LO, UC, ST, LT, UT and PN element (sequence
 * items included) of pydicom's test files, read by pydicom itself (python3-pydicom), for comparing
 * our decoding with pydicom's while the file reader is not ours yet.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PYDICOM_DATA, PYTHON } from '../../helpers/peers.js';

export interface PydicomElement {
  /** Tag path, e.g. '00321064/0/00100010' (sequence tag / item index / tag). */
  readonly path: string;
  readonly vr: 'SH' | 'LO' | 'UC' | 'ST' | 'LT' | 'UT' | 'PN';
  /** Values of (0008,0005) in force for the element (its item's own, else inherited), trimmed. */
  readonly charset: string[];
  /** Raw value bytes, padding included. */
  readonly hex: string;
  /** pydicom's values: str() of each value (PersonName drops trailing empty component groups). */
  readonly pydicom: string[];
}

const SCRIPT = String.raw`
import sys, json, warnings
warnings.simplefilter('ignore')
import pydicom
from pydicom.datadict import dictionary_VR
from pydicom.valuerep import PersonName
from pydicom.multival import MultiValue

TEXT_VRS = {'SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN'}

def own_charset(ds):
    if 0x00080005 not in ds:
        return None
    v = ds.get_item(0x00080005).value
    if isinstance(v, bytes):
        return [s.strip(' \0') for s in v.decode('latin-1').split('\\')]
    return [str(s).strip(' \0') for s in (v if isinstance(v, (list, MultiValue)) else [v])]

def strings(value):
    if value is None:
        return []
    if isinstance(value, (str, PersonName)):
        return [str(value)]
    return [str(v) for v in value]

def walk(ds, charset, path, out):
    own = own_charset(ds)
    if own is not None:
        charset = own
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        vr = getattr(raw, 'VR', None)
        if vr in (None, 'UN'):
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                continue
        elem = ds[tag]
        if vr == 'SQ':
            for i, item in enumerate(elem.value or []):
                walk(item, charset, path + ['%08X' % int(tag), str(i)], out)
            continue
        if vr not in TEXT_VRS or not isinstance(raw.value, bytes) or len(raw.value) == 0:
            continue
        out.append({'path': '/'.join(path + ['%08X' % int(tag)]), 'vr': vr, 'charset': charset or [],
                    'hex': raw.value.hex(), 'pydicom': strings(elem.value)})

result = {}
for f in sys.argv[1:]:
    out = []
    try:
        walk(pydicom.dcmread(f, force=True, stop_before_pixels=True), None, [], out)
    except Exception as e:
        out = {'error': str(e)}
    result[f] = out
json.dump(result, sys.stdout, ensure_ascii=True)
`;

/** pydicom's charset test files (PS3.5 Annex H, I, J examples and more). */
export function charsetFiles(): string[] {
  const dir = join(PYDICOM_DATA, 'charset_files');
  return readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(dir, f));
}

/** Every file under pydicom's test_files whose (0008,0005) anywhere is not the default repertoire. */
export function nonDefaultTestFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  const root = join(PYDICOM_DATA, 'test_files');
  if (!existsSync(root)) return [];
  walk(root);
  const all = readWithPydicom(files);
  return files.filter((f) => {
    const els = all.get(f);
    return els !== undefined && els.some((e) => e.charset.some((t) => t !== '' && t !== 'ISO_IR 6'));
  });
}

const cache = new Map<string, PydicomElement[] | undefined>();

/** Elements per file (files pydicom cannot read are left out). */
export function readWithPydicom(files: readonly string[]): Map<string, PydicomElement[]> {
  const missing = files.filter((f) => !cache.has(f));
  if (missing.length > 0) {
    const r = spawnSync(PYTHON, ['-c', SCRIPT, ...missing], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`pydicom helper failed: ${r.stderr}`);
    const parsed = JSON.parse(r.stdout) as Record<string, PydicomElement[] | { error: string }>;
    for (const f of missing) {
      const v = parsed[f];
      cache.set(f, Array.isArray(v) ? v : undefined);
    }
  }
  const out = new Map<string, PydicomElement[]>();
  for (const f of files) {
    const v = cache.get(f);
    if (v) out.set(f, v);
  }
  return out;
}
