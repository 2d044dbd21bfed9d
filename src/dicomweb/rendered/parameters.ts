/**
 * The query parameters and the Accept of the rendered resources (PS3.18 §8.3.5.1: Rendered Media
 * Types, Table 8.3.5-1; §8.3.5.1.2 quality, §8.3.5.1.3 viewport, §8.3.5.1.4 window), checked
 * before anything is read.
 */
import { badRequest, notAcceptable } from '../http-error.js';
import { parseAccept, qualityOf } from '../media-type.js';
import type { VoiFunction, Window } from './pixels.js';

/** The media types a single-frame rendering is served in (PS3.18 Table 8.3.5-1: the Required ones); the first is the default. */
export const RENDERED_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif'] as const;
export type RenderedMediaType = (typeof RENDERED_MEDIA_TYPES)[number];

export interface Viewport {
  readonly width: number;
  readonly height: number;
  /** The source region; the whole image when absent. Negative sizes flip (PS3.18 §8.3.5.1.3). */
  readonly region?: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

export interface RenderParameters {
  readonly mediaType: RenderedMediaType;
  readonly quality?: number;
  readonly viewport?: Viewport;
  readonly window?: Window;
}

/** The rendered media type to answer with, from the Accept (absent, or any: image/jpeg). */
export function renderedMediaType(accept: string | undefined): RenderedMediaType {
  if (!accept || accept.trim() === '') return RENDERED_MEDIA_TYPES[0];
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  for (const m of ranges) {
    if (m.type === '*/*' || m.type === 'image/*') return RENDERED_MEDIA_TYPES[0];
    const found = RENDERED_MEDIA_TYPES.find((t) => t === m.type);
    if (found) return found;
  }
  throw notAcceptable(`rendered images are served as ${RENDERED_MEDIA_TYPES.join(', ')}, not "${accept}"`);
}

function numbersOf(name: string, text: string, count: readonly number[]): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map((p) => (p === '' ? NaN : Number(p)));
  if (!count.includes(parts.length) || values.some((v) => !Number.isFinite(v))) {
    throw badRequest(`${name}=${text}: expected ${count.join(' or ')} comma-separated numbers`);
  }
  return values;
}

const FUNCTIONS: Readonly<Record<string, VoiFunction>> = { linear: 'LINEAR', 'linear-exact': 'LINEAR_EXACT', sigmoid: 'SIGMOID' };

function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw badRequest(`${name} is given ${v.length} times`);
  return String(v);
}

export function renderParameters(query: Record<string, unknown>, accept: string | undefined): RenderParameters {
  const mediaType = renderedMediaType(accept);
  let quality: number | undefined;
  const q = single(query, 'quality');
  if (q !== undefined) {
    quality = Number(q);
    if (!/^\d{1,3}$/.test(q.trim()) || quality < 1 || quality > 100) throw badRequest(`quality=${q}: an integer from 1 to 100`);
  }
  let viewport: Viewport | undefined;
  const vp = single(query, 'viewport');
  if (vp !== undefined) {
    const [vw, vh, sx, sy, sw, sh] = numbersOf('viewport', vp, [2, 6]);
    if (!Number.isInteger(vw) || !Number.isInteger(vh) || vw! < 1 || vh! < 1) throw badRequest(`viewport=${vp}: the viewport's width and height are positive integers`);
    if (sx !== undefined && (sx < 0 || sy! < 0 || sw === 0 || sh === 0 || ![sx, sy, sw, sh].every(Number.isInteger))) {
      throw badRequest(`viewport=${vp}: the source region is sx,sy >= 0 and non-zero integer sw,sh`);
    }
    viewport = { width: vw!, height: vh!, ...(sx !== undefined ? { region: { x: sx, y: sy!, width: sw!, height: sh! } } : {}) };
  }
  let window: Window | undefined;
  const w = single(query, 'window');
  if (w !== undefined) {
    const parts = w.split(',').map((s) => s.trim());
    const fn = parts.length === 3 ? FUNCTIONS[parts[2]!.toLowerCase()] : 'LINEAR';
    if (fn === undefined) throw badRequest(`window=${w}: the function is linear, linear-exact or sigmoid`);
    const [center, width] = numbersOf('window', parts.slice(0, 2).join(','), [2]);
    if (!(width! > 0) || (fn === 'LINEAR' && width! < 1)) throw badRequest(`window=${w}: the width must be ${fn === 'LINEAR' ? 'at least 1' : 'positive'}`);
    window = { center: center!, width: width!, function: fn };
  }
  return { mediaType, ...(quality !== undefined ? { quality } : {}), ...(viewport ? { viewport } : {}), ...(window ? { window } : {}) };
}
