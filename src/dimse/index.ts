/**
 * DIMSE (PS3.7): command sets and typed messages, statuses, and the cutting of messages into PDVs
 * and their reassembly (PS3.8 Annex E). No I/O: the association feeds PDVs in and sends PDVs out.
 *
 *   presentation-data-value.ts  the PDV type shared with the Upper Layer, Message Control Header
 *   command-elements.ts         command element tags (PS3.7 Table E.1-1), Command Field values
 *   messages.ts                 typed messages and their field tables (PS3.7 §9.3, §10.3)
 *   command.ts                  command set codec (Implicit VR Little Endian, group length)
 *   status.ts                   status classes and meanings (PS3.7 Annex C, PS3.4)
 *   dimse-status.ts             DimseStatus, the status value an SCU receives
 *   service-error.ts            ServiceError, what an SCP handler throws
 *   dimse-protocol-error.ts     errors carrying the A-ABORT or response to send
 *   fragmenter.ts               message -> P-DATA-TF-sized PDV batches, streamed
 *   data-set-stream.ts          a received data set, as it arrives
 *   assembler.ts                PDVs -> messages with streamed data sets, back-pressure
 *   message-id.ts               Message ID allocation
 */
export {
  P_DATA_TF_HEADER_LENGTH, PDV_ITEM_OVERHEAD, messageControlHeader, parseMessageControlHeader, pDataTfVariableLength,
} from './presentation-data-value.js';
export type { PresentationDataValue, SendPData } from './presentation-data-value.js';

export {
  CommandTag, COMMAND_FIELDS, CommandField, messageTypeOf, isResponseCommandField, Priority, NO_DATA_SET, DATA_SET_PRESENT,
} from './command-elements.js';
export type { CommandFieldName, DimseMessageType } from './command-elements.js';

export { MESSAGE_SPECS, responseTypeOf, serviceOf, isRequest, isResponse } from './messages.js';
export type {
  DimseMessage, DimseRequest, DimseResponse, MessageOfType, MessageSpec, DataSetPresence, DimseService, StatusDetail,
  SubOperationCounts, CStoreRq, CStoreRsp, CFindRq, CFindRsp, CGetRq, CGetRsp, CMoveRq, CMoveRsp, CEchoRq, CEchoRsp,
  CCancelRq, NEventReportRq, NEventReportRsp, NGetRq, NGetRsp, NSetRq, NSetRsp, NActionRq, NActionRsp, NCreateRq,
  NCreateRsp, NDeleteRq, NDeleteRsp,
} from './messages.js';

export {
  COMMAND_ENCODING, encodeCommand, encodeCommandSet, commandSetOf, decodeCommand, decodeCommandSet, messageFromCommandSet, hasDataSet, isUidValue,
} from './command.js';

export {
  Status, STATUS_MEANINGS, statusCategory, statusMeaning, formatStatus, isDefinedStatus,
  isSuccess, isWarning, isFailure, isCancel, isPending, isCompleted,
} from './status.js';
export type { StatusCategory, StatusMeaning } from './status.js';
export { DimseStatus } from './dimse-status.js';
export { ServiceError } from './service-error.js';
export { fitErrorComment, ERROR_COMMENT_MAX } from './error-comment.js';
export type { ServiceErrorOptions, ResponseStatusFields } from './service-error.js';

export { DimseProtocolError, ABORT_UNEXPECTED_PDV, ABORT_INVALID_PDV, abortAnswer } from './dimse-protocol-error.js';
export type { AAbortParameters, DimseAnswer } from './dimse-protocol-error.js';

export {
  fragmentMessage, fragmentWholeMessage, sendMessage, sendInGroups, maxFragmentLength, dataSetLayout, DEFAULT_UNLIMITED_FRAGMENT_LENGTH, MAX_GROUP_BYTES,
} from './fragmenter.js';
export type { FragmentHooks, SendPDataGroup, SendPDataLaidOut } from './fragmenter.js';
export { LaidOutDataSet, SlotBuffer, laidOutMessage, COMMAND_RESERVE } from './laid-out.js';
export type { DataSetLayout } from './laid-out.js';
export type { FragmentOptions, DataSetSource, WholeDataSetSource } from './fragmenter.js';
export { DataSetStream } from './data-set-stream.js';
export { MessageAssembler, DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_COMMAND_LENGTH } from './assembler.js';
export type { IncomingMessage, MessageAssemblerOptions } from './assembler.js';

export { MessageIdAllocator, isValidMessageId, nextMessageId, MIN_MESSAGE_ID, MAX_MESSAGE_ID } from './message-id.js';
