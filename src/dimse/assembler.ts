/**
 * Reassembles received PDVs into messages (PS3.8 Annex E.1). The command set is small: its
 * fragments are collected, then decoded. The data set is not collected: as soon as the command is
 * complete the message is handed over with a DataSetStream, and the data fragments flow into that
 * stream as they arrive, so a C-STORE SCP can write them to disk as they come.
 *
 * Back-pressure: push() returns false when the consumers hold more unread data set bytes than the
 * high-water mark; the association then stops reading its socket until drained() resolves.
 *
 * What breaks Annex E.1 is an error carrying the A-ABORT to send: a data fragment with no command
 * before it, or before the command's last fragment; a command fragment inside a data set (its
 * last fragment never came); a change of presentation context within a message.
 */
import { concatBytes } from '../core/bytes.js';
import { DicomError } from '../core/dicom-error.js';
import type { DataSet } from '../data/data-set.js';
import { CommandTag, NO_DATA_SET } from './command-elements.js';
import { decodeCommandDirect, decodeCommandSet, hasDataSet, messageFromCommandSet } from './command.js';
import { DataSetStream } from './data-set-stream.js';
import {
  ABORT_INVALID_PDV, ABORT_UNEXPECTED_PDV, abortAnswer, DimseProtocolError, type AAbortParameters,
} from './dimse-protocol-error.js';
import type { DimseMessage } from './messages.js';
import type { PresentationDataValue } from './presentation-data-value.js';

export interface IncomingMessage {
  presentationContextId: number;
  command: DimseMessage;
  /** The command set as received, with any elements the typed message leaves out (read on first use). */
  readonly commandSet: DataSet;
  /** The data set, arriving; null when the command says none follows. Read it or discard() it. */
  dataSet: DataSetStream | null;
}

export interface MessageAssemblerOptions {
  /** A message whose command is complete. Called synchronously inside push(). */
  onMessage(message: IncomingMessage): void;
  /**
   * A command that could not be decoded but can be answered: send `error.answer.command` on the
   * presentation context given. Any data set that follows it is dropped.
   */
  onRejected(error: DimseProtocolError, presentationContextId: number): void;
  /** Unread data set bytes beyond which push() asks to pause. Default 1 MiB. */
  highWaterMark?: number;
  /** The largest command set accepted. Default 64 KiB; command sets are a few hundred bytes. */
  maxCommandLength?: number;
  /** The presentation context IDs accepted on the association; a PDV on another is an error. */
  isAcceptedPresentationContext?(id: number): boolean;
}

const enum State { Idle, Command, Data, Failed, Closed }

export const DEFAULT_HIGH_WATER_MARK = 1 << 20;
export const DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024;

export class MessageAssembler {
  private state = State.Idle;
  private contextId = 0;
  private commandParts: Uint8Array[] = [];
  private commandLength = 0;
  /** The data set being received; null while dropping one. */
  private stream: DataSetStream | null = null;
  private failure: DimseProtocolError | null = null;
  private bufferedBytes = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly highWaterMark: number;
  private readonly maxCommandLength: number;

  constructor(private readonly options: MessageAssemblerOptions) {
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.maxCommandLength = options.maxCommandLength ?? DEFAULT_MAX_COMMAND_LENGTH;
  }

  /** Unread data set bytes held for consumers. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** Between messages: no command or data set partly received. */
  get idle(): boolean {
    return this.state === State.Idle;
  }

  /**
   * Takes the PDVs of one P-DATA-TF PDU. Returns false when reading should pause until
   * drained(). Throws a DimseProtocolError (answer: an A-ABORT) when the PDVs break PS3.8
   * Annex E.1; the assembler is then unusable. An exception thrown by a callback is re-thrown
   * after the whole PDU has been taken in.
   */
  push(pdvs: readonly PresentationDataValue[]): boolean {
    if (this.state === State.Failed) throw this.failure!;
    if (this.state === State.Closed) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'the message assembler is closed');
    let callbackError: { error: unknown } | null = null;
    for (const pdv of pdvs) {
      const e = this.take(pdv);
      if (e && !callbackError) callbackError = e;
    }
    if (callbackError) throw callbackError.error;
    return this.bufferedBytes < this.highWaterMark;
  }

  /** Resolves when reading may resume: at once below the high-water mark, else once consumers have read down to half of it. */
  drained(): Promise<void> {
    if (this.bufferedBytes < this.highWaterMark || this.state === State.Closed || this.state === State.Failed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * The association has ended. A data set still arriving fails with
   * ERR_DICOM_DIMSE_DATA_SET_INCOMPLETE; a command partly received is dropped.
   */
  close(reason?: unknown): void {
    if (this.state === State.Closed) return;
    if (this.state === State.Data && this.stream) {
      this.stream.fail(new DicomError('ERR_DICOM_DIMSE_DATA_SET_INCOMPLETE', `the association ended after ${this.stream.received} bytes of the data set, before its last fragment`, reason !== undefined ? { cause: reason } : {}));
    }
    this.stream = null;
    this.commandParts = [];
    this.state = State.Closed;
    this.wakeDrainWaiters();
  }

  /** Returns a callback's exception, if one threw. */
  private take(pdv: PresentationDataValue): { error: unknown } | null {
    const id = pdv.presentationContextId;
    if (this.options.isAcceptedPresentationContext && !this.options.isAcceptedPresentationContext(id)) {
      this.fail('ERR_DICOM_DIMSE_CONTEXT_MISMATCH', `PDV on presentation context ${id}, which was not accepted`, ABORT_INVALID_PDV);
    }
    switch (this.state) {
      case State.Idle:
        if (!pdv.isCommand) this.fail('ERR_DICOM_DIMSE_UNEXPECTED_PDV', `data set fragment on presentation context ${id} with no command before it`, ABORT_UNEXPECTED_PDV);
        this.contextId = id;
        this.commandParts = [];
        this.commandLength = 0;
        this.state = State.Command;
        return this.addCommandFragment(pdv);
      case State.Command:
        this.checkContext(id);
        if (!pdv.isCommand) this.fail('ERR_DICOM_DIMSE_UNEXPECTED_PDV', 'data set fragment before the last fragment of the command', ABORT_UNEXPECTED_PDV);
        return this.addCommandFragment(pdv);
      case State.Data:
        this.checkContext(id);
        if (pdv.isCommand) {
          this.fail('ERR_DICOM_DIMSE_UNEXPECTED_PDV', `command fragment inside a data set (after ${this.stream?.received ?? 0} bytes); the data set's last fragment did not come`, ABORT_UNEXPECTED_PDV);
        }
        if (this.stream) this.addBuffered(this.stream.push(pdv.data));
        if (pdv.isLast) {
          this.stream?.end();
          this.stream = null;
          this.state = State.Idle;
        }
        return null;
      default:
        return null;
    }
  }

  private checkContext(id: number): void {
    if (id !== this.contextId) {
      this.fail('ERR_DICOM_DIMSE_CONTEXT_MISMATCH', `PDV on presentation context ${id} within a message begun on ${this.contextId} (PS3.8 Annex E.1)`, ABORT_INVALID_PDV);
    }
  }

  private addCommandFragment(pdv: PresentationDataValue): { error: unknown } | null {
    this.commandLength += pdv.data.length;
    if (this.commandLength > this.maxCommandLength) {
      this.fail('ERR_DICOM_DIMSE_COMMAND_TOO_LONG', `command set longer than ${this.maxCommandLength} bytes`, ABORT_INVALID_PDV);
    }
    if (pdv.data.length > 0) this.commandParts.push(pdv.data);
    return pdv.isLast ? this.completeCommand() : null;
  }

  private completeCommand(): { error: unknown } | null {
    const bytes = concatBytes(this.commandParts, this.commandLength);
    this.commandParts = [];
    const id = this.contextId;
    const direct = decodeCommandDirect(bytes);
    // The DataSet only when someone asks for it: most receivers need just the typed message.
    if (direct !== undefined) return this.deliver(id, direct, bytes);
    let commandSet: DataSet;
    try {
      commandSet = decodeCommandSet(bytes);
    } catch (error) {
      this.failWith(error as DimseProtocolError);
    }
    let command: DimseMessage;
    try {
      command = messageFromCommandSet(commandSet);
    } catch (error) {
      if (!(error instanceof DimseProtocolError)) {
        this.failWith(new DimseProtocolError('ERR_DICOM_DIMSE_BAD_COMMAND', `command set cannot be read: ${String(error)}`, abortAnswer(ABORT_INVALID_PDV), { cause: error }));
      }
      if (error.fatal) this.failWith(error);
      // Answerable: drop the data set the command announces, if any.
      const announced = commandSet.bytes(CommandTag.CommandDataSetType);
      const type = announced && announced.length >= 2 ? announced[0]! | (announced[1]! << 8) : NO_DATA_SET;
      this.state = type !== NO_DATA_SET ? State.Data : State.Idle;
      this.stream = null;
      return guard(() => this.options.onRejected(error, id));
    }
    return this.deliver(id, command, commandSet);
  }

  private deliver(id: number, command: DimseMessage, commandSet: DataSet | Uint8Array): { error: unknown } | null {
    let dataSet: DataSetStream | null = null;
    if (hasDataSet(command)) {
      dataSet = new DataSetStream((n) => this.consumed(n));
      this.stream = dataSet;
      this.state = State.Data;
    } else {
      this.state = State.Idle;
    }
    const message = new AssembledMessage(id, command, dataSet, commandSet);
    return guard(() => this.options.onMessage(message));
  }

  private addBuffered(n: number): void {
    this.bufferedBytes += n;
  }

  private consumed(n: number): void {
    this.bufferedBytes -= n;
    if (this.bufferedBytes <= this.highWaterMark / 2) this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private fail(code: 'ERR_DICOM_DIMSE_UNEXPECTED_PDV' | 'ERR_DICOM_DIMSE_CONTEXT_MISMATCH' | 'ERR_DICOM_DIMSE_COMMAND_TOO_LONG', message: string, abort: AAbortParameters): never {
    this.failWith(new DimseProtocolError(code, message, abortAnswer(abort)));
  }

  private failWith(error: DimseProtocolError): never {
    this.stream?.fail(error);
    this.stream = null;
    this.commandParts = [];
    this.failure = error;
    this.state = State.Failed;
    this.wakeDrainWaiters();
    throw error;
  }
}

/**
 * An IncomingMessage whose command set DataSet is decoded from its bytes on first use. A class
 * rather than an object literal with a getter, which V8 builds through the runtime (a
 * dictionary-mode object) for every message.
 */
class AssembledMessage implements IncomingMessage {
  constructor(
    readonly presentationContextId: number,
    readonly command: DimseMessage,
    public dataSet: DataSetStream | null,
    private commandSetOrBytes: DataSet | Uint8Array,
  ) {}

  get commandSet(): DataSet {
    const c = this.commandSetOrBytes;
    if (!(c instanceof Uint8Array)) return c;
    const parsed = decodeCommandSet(c);
    this.commandSetOrBytes = parsed;
    return parsed;
  }
}

function guard(callback: () => void): { error: unknown } | null {
  try {
    callback();
    return null;
  } catch (error) {
    return { error };
  }
}


