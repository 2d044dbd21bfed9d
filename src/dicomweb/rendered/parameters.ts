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
  /**
   * The viewport's size, the image scaled to fit it with its aspect ratio kept. WADO-URI's rows or
   * columns may come alone (PS3.18 §9.5.1.2.4): the other side then follows from the aspect ratio.
   */
  readonly width?: number;
  readonly height?: number;
  /**
   * The source region; the whole image when absent. Negative sizes flip (PS3.18 §8.3.5.1.3); an
   * elided width or height reaches the right or bottom edge.
   */
  readonly region?: { readonly x: number; readonly y: number; readonly width?: number; readonly height?: number };
}

export interface RenderParameters {
  readonly mediaType: RenderedMediaType;
  readonly quality?: number;
  readonly viewport?: Viewport;
  readonly window?: Window;
  /** annotation values asked for and not burned in (all: Conduit has no annotation), for the Warning of §8.3.5.1.1. */
  readonly unsupportedAnnotations?: readonly string[];
  /**
   * WADO-URI's region (PS3.18 §9.5.1.2.5): the source region in coordinates normalized to the
   * image (0,0 top left, 1,1 bottom right); rendered at its own size unless a viewport is given.
   */
  readonly normalizedRegion?: { readonly xmin: number; readonly ymin: number; readonly xmax: number; readonly ymax: number };
  /** iccprofile=yes or srgb: an sRGB ICC profile is embedded (§8.3.5.1.5). */
  readonly iccProfile?: 'srgb';
}

const ANNOTATIONS = ['patient', 'technique'];
const ICC_PROFILES = ['no', 'yes', 'srgb', 'adobergb', 'rommrgb'];

/** PS3.18 §8.3.5.1.3: vw,vh[,[sx],[sy],[sw],[sh]], the optional values elidable (defaults 0, 0, edge, edge). */
function parseViewport(text: string, thumbnail: boolean): Viewport {
  const parts = text.split(',').map((s) => s.trim());
  const bad = (why: string) => badRequest(`viewport=${text}: ${why} (PS3.18 §8.3.5.1.3)`);
  if (parts.length < 2 || parts.length > 6) throw bad('expected vw,vh[,sx,sy,sw,sh]');
  const [vw, vh] = parts.map(Number);
  if (!/^\d+$/.test(parts[0]!) || !/^\d+$/.test(parts[1]!) || vw! < 1 || vh! < 1) throw bad("the viewport's width and height are positive integers");
  if (parts.length === 2) return { width: vw!, height: vh! };
  if (thumbnail) throw bad('a thumbnail takes the viewport size only');
  const optional = parts.slice(2).map((p) => (p === '' ? undefined : Number(p)));
  if (optional.some((v) => v !== undefined && !Number.isFinite(v)) || parts.slice(2).some((p) => p !== '' && !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(p))) throw bad('sx, sy, sw and sh are decimal numbers');
  const [sx, sy, sw, sh] = optional;
  if (sw === 0 || sh === 0) throw bad('the source region is not empty');
  return { width: vw!, height: vh!, region: { x: Math.round(Math.abs(sx ?? 0)), y: Math.round(Math.abs(sy ?? 0)), ...(sw !== undefined ? { width: Math.round(sw) } : {}), ...(sh !== undefined ? { height: Math.round(sh) } : {}) } };
}

/** PS3.18 §8.3.5.1.1: keywords only; none is burned in, so each is reported as not supported. */
export function parseAnnotation(text: string): string[] {
  const values = text.split(',').map((s) => s.trim());
  if (values.some((v) => !/^[a-z]+$/i.test(v))) throw badRequest(`annotation=${text}: a comma-separated list of keywords (patient, technique) (PS3.18 §8.3.5.1.1)`);
  return values;
}

/** PS3.18 §8.3.5.1.5. */
function parseIccProfile(text: string, mediaType: RenderedMediaType): 'srgb' | undefined {
  const values = text.split(',').map((s) => s.trim().toLowerCase());
  const unknown = values.filter((v) => !ICC_PROFILES.includes(v));
  if (unknown.length || values.length === 0) throw badRequest(`iccprofile=${text}: one of ${ICC_PROFILES.join(', ')} (PS3.18 §8.3.5.1.5)`);
  const value = values[0]!;
  if (value === 'no') return undefined;
  if (mediaType === 'image/gif') throw badRequest(`iccprofile=${text}: image/gif cannot hold an ICC profile; only "no" is allowed (PS3.18 §8.3.5.1.5)`);
  if (value === 'adobergb' || value === 'rommrgb') throw badRequest(`iccprofile=${text}: Conduit renders in sRGB only (no, yes or srgb)`);
  return 'srgb';
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

export function renderParameters(query: Record<string, unknown>, accept: string | undefined, thumbnail = false): RenderParameters {
  const mediaType = renderedMediaType(accept);
  let quality: number | undefined;
  const q = single(query, 'quality');
  if (q !== undefined) {
    quality = Number(q);
    if (!/^\d{1,3}$/.test(q.trim()) || quality < 1 || quality > 100) throw badRequest(`quality=${q}: an integer from 1 to 100`);
  }
  const vp = single(query, 'viewport');
  const viewport = vp === undefined ? undefined : parseViewport(vp, thumbnail);
  let window: Window | undefined;
  const w = single(query, 'window');
  if (w !== undefined) {
    const parts = w.split(',').map((s) => s.trim());
    // PS3.18 §8.3.5.1.4: "All three parameters shall be present with valid values."
    const fn = parts.length === 3 ? FUNCTIONS[parts[2]!.toLowerCase()] : undefined;
    if (fn === undefined) throw badRequest(`window=${w}: center,width,function with the function linear, linear-exact or sigmoid (PS3.18 §8.3.5.1.4)`);
    const [center, width] = numbersOf('window', parts.slice(0, 2).join(','), [2]);
    if (!(width! > 0) || (fn === 'LINEAR' && width! < 1)) throw badRequest(`window=${w}: the width must be ${fn === 'LINEAR' ? 'at least 1' : 'positive'}`);
    window = { center: center!, width: width!, function: fn };
  }
  const a = single(query, 'annotation');
  const annotations = a === undefined ? [] : parseAnnotation(a);
  const icc = single(query, 'iccprofile');
  const iccProfile = icc === undefined ? undefined : parseIccProfile(icc, mediaType);
  return {
    mediaType,
    ...(quality !== undefined ? { quality } : {}),
    ...(viewport ? { viewport } : {}),
    ...(window ? { window } : {}),
    ...(annotations.length ? { unsupportedAnnotations: annotations } : {}),
    ...(iccProfile ? { iccProfile } : {}),
  };
}
