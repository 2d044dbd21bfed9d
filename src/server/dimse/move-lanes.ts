/**
 * The associations a C-MOVE performs its C-STORE sub-operations over (PS3.4 C.4.2.3): the first,
 * opened before any sub-operation, and up to `moveAssociations - 1` more, opened in the background
 * once it is established, each a lane taking instances from the same queue (sub-operations.ts).
 * A further association the destination rejects, or does not accept before the queue is empty (a
 * Storage SCP serving one association at a time, such as DCMTK storescp without --fork), is
 * dropped: the move goes on over those open. Each association is released as soon as its lane
 * takes no more instances, aborted when the release fails.
 */
import type { AssociationClient } from '../../ae/index.js';
import { DicomError } from '../../core/dicom-error.js';
import type { SubOperationLane } from '../../services/query-retrieve/retrieve.js';
import { contextForInstance } from '../../services/query-retrieve/stored-data-set.js';
import type { StoredInstance } from '../../storage/ports.js';
import { READ_AHEAD, storeSubOperation, type QueryRetrieveContext } from './context.js';

/**
 * A further association is opened for every this many instances (so 16 take two), up to
 * `moveAssociations`: below that, opening one costs about as much as it saves.
 */
export const SUB_OPERATIONS_PER_ASSOCIATION = 8;

/** How many associations a C-MOVE of `instances` instances uses, with `moveAssociations` configured. */
export function associationsFor(moveAssociations: number, instances: number): number {
  return Math.max(1, Math.min(moveAssociations, Math.floor(instances / SUB_OPERATIONS_PER_ASSOCIATION)));
}

export interface MoveLaneOptions {
  /** Move Originator AE Title and Message ID (PS3.7 Table 9.3-1). */
  originator: { aeTitle: string; messageId: number };
  priority?: number;
  peerName: string;
  onFailure: (instance: StoredInstance, errorComment: string) => void;
  /**
   * The C-MOVE's cancellation: stops the associations still being opened, and each lane begins its
   * next C-STORE-RQ in the receive callback of the last one's response (SubOperationTarget.cancelled).
   */
  cancelled: AbortSignal;
}

export class MoveLanes {
  /** Associations established (the first among them). */
  opened = 0;
  /** Associations that carried at least one sub-operation (one opened after the work ran out carried none). */
  carried = 0;
  private readonly releases: Promise<void>[] = [];
  /** Aborts the further associations still being opened once the sub-operations have ended. */
  private readonly ending = new AbortController();

  constructor(private readonly ctx: QueryRetrieveContext, private readonly options: MoveLaneOptions) {}

  /** The lane of an established association: its own sub-operation (with its read-ahead), released when done. */
  lane(client: AssociationClient): SubOperationLane {
    this.opened++;
    let usable = true;
    // Set before the C-STORE under way is failed by the close (its rejection is handled later).
    const unusable = (): void => void (usable = false);
    client.association.once('aborted', unusable).once('close', unusable);
    const contexts = client.association.acceptedPresentationContexts();
    const store = storeSubOperation(this.ctx.archive, {
      dimse: client.dimse,
      contextFor: (instance) => contextForInstance(contexts, instance),
      priority: this.options.priority,
      originator: this.options.originator,
      peerName: this.options.peerName,
      onFailure: this.options.onFailure,
      cancelled: this.options.cancelled,
    });
    let released = false;
    let carrying = false;
    return {
      store: (instance) => {
        if (!carrying) {
          carrying = true;
          this.carried++;
        }
        return store(instance);
      },
      prepare: store.prepare,
      readAhead: READ_AHEAD,
      usable: () => usable,
      done: () => {
        if (released) return;
        released = true;
        this.releases.push(client.release().catch(() => client.abort()));
      },
    };
  }

  /**
   * Opens `count` further associations in the background; each promise resolves to its lane, or to
   * undefined when it was not opened (`onNotOpened` is told why, unless the C-MOVE was cancelled).
   */
  open(count: number, connect: (signal: AbortSignal) => Promise<AssociationClient>,
    onNotOpened: (reason: unknown, late: boolean) => void): Array<Promise<SubOperationLane | undefined>> {
    const cancelled = this.options.cancelled;
    const signal = AbortSignal.any([cancelled, this.ending.signal]);
    return Array.from({ length: count }, () => connect(signal).then((client) => {
      const lane = this.lane(client);
      // Established as the sub-operations ended: nothing to do on it.
      if (this.ending.signal.aborted) lane.done!();
      return lane;
    }, (err: unknown) => {
      if (!cancelled.aborted) onNotOpened(err, this.ending.signal.aborted);
      return undefined;
    }));
  }

  /** Drops the associations still being opened and waits for every release. */
  async close(): Promise<void> {
    this.ending.abort(new DicomError('ERR_DICOM_ASSOCIATION_ABORTED', 'the sub-operations ended before the association was accepted'));
    await Promise.all(this.releases);
  }
}
