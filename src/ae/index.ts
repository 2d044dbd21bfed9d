/** The public network API: connect() for the requestor side, DicomServer for the acceptor side. */
export { connect, AssociationClient, proposalsFor, describeFile, readAndDescribeSync, readAndDescribeIntoSlotsSync } from './client.js';
export type { ConnectOptions, StoreInput, StoreOptions, NextFileReader, ReadFile } from './client.js';
export { DicomServer, PREFERRED_TRANSFER_SYNTAXES } from './server.js';
export type { DicomServerOptions, DicomServerHandlers, DicomServerEvents, AssociationInfo, StoreRequest, GenericRequest, HandlerResult } from './server.js';
export { DimseAssociation, DIMSE_CHANNEL } from './dimse-association.js';
export type { IncomingRequest, IncomingResponse, DimseAssociationOptions, DimseTrace, RequestOneOptions } from './dimse-association.js';
export {
  FindOperation, RetrieveOperation, QUERY_RETRIEVE_SOP_CLASS, DEFAULT_GET_STORAGE_SOP_CLASSES, DEFAULT_GET_COMPRESSED_TRANSFER_SYNTAXES, queryRetrieveProposals, retrieveProposals,
} from './query-retrieve-client.js';
export type {
  QueryOptions, MoveOptions, GetOptions, RetrieveProgress, ReceivedInstance, StoreResult, QueryRetrieveModel, QueryRetrieveLevel,
} from './query-retrieve-client.js';
export { buildIdentifier, parseKeyAssignment } from './query-keys.js';
export type { QueryKeys } from './query-keys.js';
