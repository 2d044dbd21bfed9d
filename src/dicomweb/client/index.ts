/** The DICOMweb client (PS3.18 §10, user agent side): QIDO-RS, WADO-RS, STOW-RS. */
export { DicomWebClient, DicomWebSearch } from './client.js';
export type {
  DicomWebClientOptions, QidoQuery, QidoValue, CallOptions, RetrieveOptions, FrameOptions, RetrievedFrame, BulkDataOptions, BulkDataResponse, StowOptions,
  DicomWebCapabilities, WadlJson, WadlJsonResource,
} from './client.js';
export { DicomWebHttpError } from './http.js';
export type { DicomWebAuth, FetchFunction } from './http.js';
export type { RetrievedPart, RetrievedInstance, SavedInstance } from './parts.js';
export type { StowInput, StoreResult, StoredInstance, FailedInstance } from './stow.js';
