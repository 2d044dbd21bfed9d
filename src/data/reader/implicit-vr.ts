/**
 * The VR of an element read in Implicit VR (PS3.5 §7.1.3): taken from the dictionary, with the
 * ambiguous entries resolved from the data set, as PS3.5 Annex A and the IODs imply.
 */
import { lookupPrivateTag, lookupTag } from '../../dictionary/index.js';
import type { DataSet } from '../data-set.js';
import { isPrivateCreator, isPrivateTag, PIXEL_DATA, tagElement, type Tag } from '../tag.js';
import type { VR } from '../vr.js';

const PIXEL_REPRESENTATION = 0x00280103;
const BITS_ALLOCATED = 0x00280100;

export function implicitVR(t: Tag, ds: DataSet, root: DataSet): VR {
  if (tagElement(t) === 0) return 'UL'; // group length, PS3.5 §7.2
  if (isPrivateTag(t)) {
    if (isPrivateCreator(t)) return 'LO';
    const creator = ds.privateCreator(t);
    const entry = creator !== undefined ? lookupPrivateTag(creator, t) : undefined;
    return entry?.vrs.length ? resolveAmbiguous(t, entry.vrs, ds, root) : 'UN';
  }
  const entry = lookupTag(t);
  if (!entry || entry.vrs.length === 0) return 'UN';
  return entry.vrs.length === 1 ? entry.vrs[0]! : resolveAmbiguous(t, entry.vrs, ds, root);
}

function resolveAmbiguous(t: Tag, vrs: readonly VR[], ds: DataSet, root: DataSet): VR {
  if (vrs.length === 1) return vrs[0]!;
  // US or SS: signed when Pixel Representation is 1 (PS3.3 C.7.6.3.1 and the LUT/range attributes).
  if (vrs.includes('SS') && vrs.includes('US')) {
    const pr = ds.number(PIXEL_REPRESENTATION) ?? root.number(PIXEL_REPRESENTATION);
    // LUT Descriptor and LUT Data are US (or OW) whatever the pixel representation.
    if ((t & 0xffff) === 0x3002 || (t & 0xffff) === 0x3006) return vrs.includes('OW') && (t & 0xffff) === 0x3006 ? 'OW' : 'US';
    return pr === 1 ? 'SS' : 'US';
  }
  // OB or OW: Implicit VR Little Endian uses OW for Pixel Data and overlays (PS3.5 A.1 (c)).
  if (vrs.includes('OW')) {
    if (t === PIXEL_DATA || (t >>> 16 & 0xff00) === 0x6000) return 'OW';
    const ba = ds.number(BITS_ALLOCATED) ?? root.number(BITS_ALLOCATED);
    return ba !== undefined && ba > 8 ? 'OW' : vrs.includes('OB') ? 'OB' : 'OW';
  }
  return vrs[0]!;
}
