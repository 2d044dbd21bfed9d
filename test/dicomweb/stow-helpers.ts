/** Shared by the STOW-RS tests: Part 10 instances built in code, and multipart bodies of them. */
import { encodeDataSet } from '../../src/data/writer.js';
import { buildFileMeta, PREAMBLE_LENGTH } from '../../src/media/file-meta.js';
import { writeMultipart } from '../../src/dicomweb/multipart/index.js';
import { CT_IMAGE, instanceDataSet, readAll } from '../storage/helpers.js';

export const STOW_STUDY = '1.2.826.0.1.3680043.10.511.8.1';

/** A CT instance of STOW_STUDY as a Part 10 file, with `comments` in Image Comments and `pixelBytes` of pixel data. */
export function part10(sop: string, comments: string, pixelBytes: number): Buffer {
  const ds = instanceDataSet({ StudyInstanceUID: STOW_STUDY, SeriesInstanceUID: `${STOW_STUDY}.1`, SOPInstanceUID: sop, PatientID: 'PIPE', PatientName: 'PIPE^LINE', ImageComments: comments }, { pixelBytes });
  const meta = encodeDataSet(buildFileMeta({ sopClassUid: CT_IMAGE, sopInstanceUid: sop, transferSyntaxUid: '1.2.840.10008.1.2.1' }), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
  const head = Buffer.alloc(PREAMBLE_LENGTH + 4);
  head.write('DICM', PREAMBLE_LENGTH, 'latin1');
  return Buffer.concat([head, meta, encodeDataSet(ds, { explicitVR: true, littleEndian: true })]);
}

/** A multipart/related body of application/dicom parts. */
export function stowBody(bodies: readonly Buffer[], boundary: string): Promise<Buffer> {
  return readAll(writeMultipart(bodies.map((b) => ({ headers: { 'Content-Type': 'application/dicom' }, body: b })), boundary));
}
