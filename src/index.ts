/**
 * Conduit's public library entry. Everything a user of the package needs is exported from here;
 * deeper paths are internal and may change.
 */
export { DicomError } from './core/dicom-error.js';
export type { DicomErrorCode, DicomErrorDetails } from './core/dicom-error.js';

export { DataSet } from './data/data-set.js';
export type { ElementValue, TagOrKeyword } from './data/data-set.js';
export { DataElement } from './data/element.js';
export type { EncapsulatedValue } from './data/element.js';
export { BulkData } from './data/bulk-data.js';
export {
  tag, tagGroup, tagElement, formatTag, tagHex, parseTag, isPrivateTag, isPrivateCreator, privateCreatorTagOf, isGroupLength,
  ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION, PIXEL_DATA, SPECIFIC_CHARACTER_SET, TRANSFER_SYNTAX_UID,
} from './data/tag.js';
export type { Tag } from './data/tag.js';
export { VRS, isVR } from './data/vr.js';
export type { VR } from './data/vr.js';
export { PersonName } from './data/person-name.js';
export type { PersonNameComponents } from './data/person-name.js';
export { DicomDate, DicomTime, DicomDateTime } from './data/date-time.js';
export { SpecificCharacterSet } from './data/charset/index.js';
export {
  transferSyntax, isUncompressed, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN,
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, ENCAPSULATED_UNCOMPRESSED, UNCOMPRESSED_TRANSFER_SYNTAXES,
} from './data/transfer-syntax.js';
export type { TransferSyntax } from './data/transfer-syntax.js';

export { lookupTag, lookupPrivateTag, lookupUid, tagForKeyword, uidForKeyword, DICTIONARY_EDITION } from './dictionary/index.js';
export type { TagEntry, UidEntry } from './dictionary/index.js';

export { BulkDataReference } from './data/bulk-data-reference.js';
export type { BulkDataContext, BulkDataResolver } from './data/bulk-data-reference.js';
export { toDicomJson, toDicomJsonAsync, toDicomJsonText } from './data/json-model.js';
export type {
  DicomJsonDataSet, DicomJsonAttribute, DicomJsonValue, DicomJsonPersonName, BulkDataUriCallback,
  DicomJsonWriteOptions, DicomJsonAsyncWriteOptions,
} from './data/json-model.js';
export { fromDicomJson, fromDicomJsonSync } from './data/json-model-read.js';
export type { DicomJsonReadOptions, DicomJsonAsyncReadOptions } from './data/json-model-read.js';
export { toNativeDicomXml, toNativeDicomXmlAsync, fromNativeDicomXml, fromNativeDicomXmlSync, NATIVE_DICOM_NAMESPACE } from './data/xml-model.js';
export type { NativeDicomXmlOptions } from './data/xml-model.js';

export { readFile, parseBuffer, readStream, writeFile, encodeFile, encodeFileStream } from './media/part10.js';
export type { DicomFile, ReadOptions, WriteOptions } from './media/part10.js';
export * from './media/dicomdir/index.js';

// The network API (PS3.7, PS3.8): connect() for the requestor side, DicomServer for the acceptor side.
export { connect, AssociationClient, proposalsFor, describeFile, readAndDescribeSync, readAndDescribeIntoSlotsSync, DicomServer, DimseAssociation } from './ae/index.js';
export type { ConnectOptions, StoreInput, StoreOptions, NextFileReader, ReadFile, DicomServerOptions, DicomServerHandlers, AssociationInfo, StoreRequest, HandlerResult } from './ae/index.js';
export {
  FindOperation, RetrieveOperation, QUERY_RETRIEVE_SOP_CLASS, DEFAULT_GET_STORAGE_SOP_CLASSES, queryRetrieveProposals, retrieveProposals, buildIdentifier,
} from './ae/index.js';
export type {
  QueryOptions, MoveOptions, GetOptions, RetrieveProgress, ReceivedInstance, StoreResult, QueryRetrieveModel, QueryRetrieveLevel, QueryKeys,
} from './ae/index.js';
export { writeReceivedObject } from './services/storage/part10-sink.js';
export { DimseStatus, ServiceError, Status } from './dimse/index.js';
export { AssociationRejectedError, AssociationAbortedError } from './upper-layer/index.js';

// DICOMweb (PS3.18): the client (QIDO-RS, WADO-RS, STOW-RS).
export { DicomWebClient, DicomWebSearch, DicomWebHttpError } from './dicomweb/client/index.js';
export type {
  DicomWebClientOptions, QidoQuery, QidoValue, RetrieveOptions, FrameOptions, RetrievedFrame, BulkDataOptions, BulkDataResponse, StowOptions, DicomWebCapabilities, WadlJson, WadlJsonResource,
  DicomWebAuth, RetrievedPart, RetrievedInstance, SavedInstance, StowInput, StoreResult as StowResult, StoredInstance, FailedInstance,
} from './dicomweb/client/index.js';
