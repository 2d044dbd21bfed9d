/** Byte helpers shared by every layer (no DICOM semantics). */

/** Joins byte arrays into one; returns the only part itself when there is one. */
export function concatBytes(parts: readonly Uint8Array[], totalLength?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = totalLength ?? 0;
  if (totalLength === undefined) for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
