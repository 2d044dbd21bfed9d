/**
 * The grayscale and color pipeline of a rendered frame (PS3.18 §8.3.5.1, PS3.4 N.2): stored
 * values -> Modality LUT (Rescale Slope/Intercept, PS3.3 C.11.1.1.2) -> VOI LUT (window, PS3.3
 * C.11.2.1.2, or the frame's range when the object has none) -> Presentation LUT (MONOCHROME1
 * inverted, PS3.3 C.7.6.3.1.2) -> 8-bit display values. Color images (RGB, YBR_FULL) are
 * converted to interleaved 8-bit RGB. No I/O: the frame's bytes come in, pixels go out; scaling
 * and encoding are the encoder's (encode.ts).
 */
import { DicomError } from '../../core/dicom-error.js';
import { notAcceptable } from '../http-error.js';

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface Window {
  readonly center: number;
  readonly width: number;
  readonly function: VoiFunction;
}

export interface PixelModule {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 unsigned, 1 two's complement. */
  readonly pixelRepresentation: number;
  readonly photometricInterpretation: string;
  /** 0 interleaved (R1G1B1R2...), 1 planar (RRR...GGG...BBB...). */
  readonly planarConfiguration: number;
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
  /** The object's first VOI window (Window Center/Width), if any. */
  readonly window?: Window;
  /** Byte order of the stored Pixel Data (Explicit VR Big Endian objects). */
  readonly littleEndian: boolean;
}

export interface RenderedPixels {
  readonly width: number;
  readonly height: number;
  /** 1 (gray) or 3 (RGB), interleaved, 8 bits each. */
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/** Bytes of one frame. */
export function frameSize(m: PixelModule): number {
  return m.rows * m.columns * m.samplesPerPixel * (m.bitsAllocated / 8);
}

/** Why a pixel module cannot be rendered, or undefined when it can. */
export function unsupported(m: PixelModule): string | undefined {
  if (m.rows <= 0 || m.columns <= 0) return 'it has no Rows or Columns';
  if (m.bitsAllocated !== 8 && m.bitsAllocated !== 16) return `Bits Allocated ${m.bitsAllocated} is not rendered (8 or 16 only)`;
  if (m.bitsStored < 1 || m.bitsStored > m.bitsAllocated || m.highBit < m.bitsStored - 1 || m.highBit >= m.bitsAllocated) {
    return `Bits Stored ${m.bitsStored} / High Bit ${m.highBit} do not fit Bits Allocated ${m.bitsAllocated}`;
  }
  const pi = m.photometricInterpretation;
  if (pi === 'MONOCHROME1' || pi === 'MONOCHROME2') return m.samplesPerPixel === 1 ? undefined : `${pi} with ${m.samplesPerPixel} samples per pixel`;
  if (pi === 'RGB' || pi === 'YBR_FULL') return m.samplesPerPixel === 3 ? undefined : `${pi} with ${m.samplesPerPixel} samples per pixel`;
  return `Photometric Interpretation ${pi} is not rendered (MONOCHROME1, MONOCHROME2, RGB, YBR_FULL)`;
}

/** The stored values of a frame, masked to Bits Stored and sign-extended. */
export function storedValues(m: PixelModule, frame: Uint8Array): Int32Array {
  const count = m.rows * m.columns * m.samplesPerPixel;
  const bytes = m.bitsAllocated / 8;
  if (frame.length < count * bytes) {
    throw new DicomError('ERR_DICOM_TRUNCATED', `the frame has ${frame.length} bytes of pixel data, ${count * bytes} expected`);
  }
  const out = new Int32Array(count);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const shift = m.highBit + 1 - m.bitsStored;
  const mask = m.bitsStored >= 32 ? 0xffffffff : (1 << m.bitsStored) - 1;
  const sign = 1 << (m.bitsStored - 1);
  for (let i = 0; i < count; i++) {
    const raw = bytes === 1 ? frame[i]! : view.getUint16(i * 2, m.littleEndian);
    let v = (raw >>> shift) & mask;
    if (m.pixelRepresentation === 1 && v & sign) v -= mask + 1;
    out[i] = v;
  }
  return out;
}

/** PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT), C.11.2.1.3.1 (SIGMOID), to 0..255. */
export function voi(window: Window): (x: number) => number {
  const { center: c, width: w } = window;
  switch (window.function) {
    case 'LINEAR': {
      const low = c - 0.5 - (w - 1) / 2;
      const high = c - 0.5 + (w - 1) / 2;
      return (x) => (x <= low ? 0 : x > high ? 255 : ((x - (c - 0.5)) / (w - 1) + 0.5) * 255);
    }
    case 'LINEAR_EXACT':
      return (x) => (x <= c - w / 2 ? 0 : x > c + w / 2 ? 255 : ((x - c) / w + 0.5) * 255);
    case 'SIGMOID':
      return (x) => 255 / (1 + Math.exp((-4 * (x - c)) / w));
  }
}

/** Renders one frame to 8-bit gray or RGB; `window` (the request's) overrides the object's. */
export function renderFrame(m: PixelModule, frame: Uint8Array, window?: Window): RenderedPixels {
  const why = unsupported(m);
  if (why) throw notAcceptable(`the image cannot be rendered: ${why}`);
  const values = storedValues(m, frame);
  const n = m.rows * m.columns;
  const pi = m.photometricInterpretation;
  if (pi === 'RGB' || pi === 'YBR_FULL') {
    const data = new Uint8Array(n * 3);
    const max = (1 << m.bitsStored) - 1;
    const scale = 255 / max;
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < 3; s++) {
        const v = m.planarConfiguration === 1 ? values[s * n + i]! : values[i * 3 + s]!;
        data[i * 3 + s] = Math.round(Math.min(max, Math.max(0, v)) * scale);
      }
    }
    if (pi === 'YBR_FULL') ybrFullToRgb(data);
    return { width: m.columns, height: m.rows, channels: 3, data };
  }
  const modality = new Float64Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]! * m.rescaleSlope + m.rescaleIntercept;
    modality[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // No window given or stored: the frame's whole range, exactly (PS3.4 N.2.1.1 leaves this to the SCP).
  const w = window ?? m.window ?? { center: (min + max) / 2, width: Math.max(max - min, 1), function: 'LINEAR_EXACT' as const };
  const f = voi(w);
  const invert = pi === 'MONOCHROME1';
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = Math.round(Math.min(255, Math.max(0, f(modality[i]!))));
    data[i] = invert ? 255 - y : y;
  }
  return { width: m.columns, height: m.rows, channels: 1, data };
}

/** PS3.3 C.7.6.3.1.2 YBR_FULL -> RGB, in place. */
function ybrFullToRgb(data: Uint8Array): void {
  for (let i = 0; i < data.length; i += 3) {
    const y = data[i]!;
    const cb = data[i + 1]! - 128;
    const cr = data[i + 2]! - 128;
    data[i] = clamp(y + 1.402 * cr);
    data[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp(y + 1.772 * cb);
  }
}

function clamp(v: number): number {
  return Math.round(Math.min(255, Math.max(0, v)));
}
