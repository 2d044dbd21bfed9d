/**
 * The associations `conduit serve` has open, and the operations under way on each: what the
 * shutdown says when its grace period ends and it aborts them, so that an administrator knows which
 * peer lost what (a C-MOVE cut short, a C-STORE never acknowledged) rather than reading nothing.
 */
import type { AssociationInfo, DicomServer } from '../../ae/index.js';

interface Entry {
  readonly who: string;
  /** Operations under way, by their request type (C-MOVE-RQ ...), with how many of each. */
  readonly busy: Map<string, number>;
}

export class OpenAssociations {
  private readonly open = new Map<string, Entry>();

  constructor(server: DicomServer) {
    server.on('association', (a) => this.open.set(a.connectionId, { who: `${a.callingAeTitle} (${a.remoteAddress ?? '?'})`, busy: new Map() }));
    server.on('released', (a) => this.open.delete(a.connectionId));
    server.on('aborted', (a) => this.open.delete(a.connectionId));
  }

  /** Runs an operation of the association, counted as under way until it settles. */
  async track<T>(association: AssociationInfo, requestType: string, run: () => Promise<T>): Promise<T> {
    const busy = this.open.get(association.connectionId)?.busy;
    const operation = requestType.replace(/-RQ$/, '');
    busy?.set(operation, (busy.get(operation) ?? 0) + 1);
    try {
      return await run();
    } finally {
      const left = (busy?.get(operation) ?? 1) - 1;
      if (left > 0) busy!.set(operation, left);
      else busy?.delete(operation);
    }
  }

  /** Each open association, "MOVER (10.0.0.9) during C-MOVE", in the order they were opened. */
  describe(): string[] {
    return [...this.open.values()].map((e) => (e.busy.size ? `${e.who} during ${[...e.busy.keys()].join(' and ')}` : e.who));
  }
}
