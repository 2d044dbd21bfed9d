/**
 * A value known only by its Bulk Data URI (PS3.18 F.2.6, PS3.19 A.1.5 BulkData): what a JSON or
 * XML model read without a resolver leaves in the data set. Writing the data set back to JSON or
 * XML gives the same URI again; anything that needs the bytes gets a clear error instead.
 */
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from './bulk-data.js';
import type { Tag } from './tag.js';
import type { VR } from './vr.js';

export class BulkDataReference extends BulkData {
  constructor(readonly uri: string) {
    // No file behind it: the length is not known until the URI is resolved.
    super(uri, 0, 0);
  }

  override stream(): never {
    throw this.unresolved();
  }
  override async read(): Promise<never> {
    throw this.unresolved();
  }

  private unresolved(): DicomError {
    return new DicomError('ERR_DICOM_INVALID_ARGUMENT', `bulk data at ${this.uri} was not resolved; give a resolver when reading the JSON or XML`);
  }
}

/** Where a bulk data URI occurs, for a resolver that needs more than the URI. */
export interface BulkDataContext {
  tag: Tag;
  vr: VR;
}

/**
 * Fetches the value behind a Bulk Data URI: the bytes (little endian, as PS3.18 delivers them) or
 * a lazy BulkData to leave in place.
 */
export type BulkDataResolver = (uri: string, context: BulkDataContext) => Promise<Uint8Array | BulkData> | Uint8Array | BulkData;
