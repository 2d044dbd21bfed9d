/**
 * Rendered pixels to an image file (ADR 0011: sharp): the viewport's source region cut out and
 * flipped, the result scaled to fit the viewport with its aspect ratio kept (PS3.18 §8.3.5.1.3),
 * then encoded as JPEG (quality, PS3.18 §8.3.5.1.2), PNG or GIF.
 */
import sharp from 'sharp';
import { badRequest } from '../http-error.js';
import type { RenderParameters } from './parameters.js';
import type { RenderedPixels } from './pixels.js';

/** JPEG quality when the request gives none. */
export const DEFAULT_JPEG_QUALITY = 90;

export async function encodeRendered(pixels: RenderedPixels, parameters: RenderParameters): Promise<Buffer> {
  let image = sharp(Buffer.from(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength), {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels },
  });
  const viewport = parameters.viewport;
  const n = parameters.normalizedRegion;
  const pixelRegion = n
    ? {
      x: Math.round(n.xmin * pixels.width),
      y: Math.round(n.ymin * pixels.height),
      width: Math.max(1, Math.round(n.xmax * pixels.width) - Math.round(n.xmin * pixels.width)),
      height: Math.max(1, Math.round(n.ymax * pixels.height) - Math.round(n.ymin * pixels.height)),
    }
    : viewport?.region;
  if (pixelRegion) {
    const given = pixelRegion;
    // An elided sw or sh reaches the right or bottom edge (PS3.18 §8.3.5.1.3).
    const r = { ...given, width: given.width ?? pixels.width - given.x, height: given.height ?? pixels.height - given.y };
    const left = r.width < 0 ? r.x + r.width : r.x;
    const top = r.height < 0 ? r.y + r.height : r.y;
    const width = Math.abs(r.width);
    const height = Math.abs(r.height);
    if (width === 0 || height === 0 || left < 0 || top < 0 || left + width > pixels.width || top + height > pixels.height) {
      throw badRequest(`viewport source region ${r.x},${r.y},${r.width},${r.height} is outside the ${pixels.width}x${pixels.height} image`);
    }
    image = image.extract({ left, top, width, height });
    if (r.width < 0) image = image.flop();
    if (r.height < 0) image = image.flip();
    // sharp would resize before cutting in one pipeline: the cut image is made first.
    if (pixels.channels === 1) image = image.toColourspace('b-w');
    const cut = await image.raw().toBuffer({ resolveWithObject: true });
    image = sharp(cut.data, { raw: { width: cut.info.width, height: cut.info.height, channels: cut.info.channels } });
  }
  if (viewport) image = image.resize(viewport.width, viewport.height, { fit: 'inside' });
  // Gray stays one channel (an 8-bit grayscale PNG or JPEG), not sRGB.
  if (pixels.channels === 1) image = image.toColourspace('b-w');
  // iccprofile=yes/srgb (PS3.18 §8.3.5.1.5): the rendered values are sRGB (or gray) already.
  if (parameters.iccProfile === 'srgb') image = image.withIccProfile('srgb');
  switch (parameters.mediaType) {
    case 'image/jpeg':
      return image.jpeg({ quality: parameters.quality ?? DEFAULT_JPEG_QUALITY }).toBuffer();
    case 'image/png':
      return image.png().toBuffer();
    case 'image/gif':
      return image.gif().toBuffer();
  }
}
