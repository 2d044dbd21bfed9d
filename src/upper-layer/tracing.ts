/**
 * node:diagnostics_channel traces of the Upper Layer. Messages are built only when a channel has
 * subscribers, so tracing costs nothing when no one listens.
 *
 *   conduit:upper-layer:pdu          every PDU sent or received: { connectionId, direction, type, name, length, pdu }
 *   conduit:upper-layer:state        every state machine transition: { connectionId, from, event, action, to }
 *   conduit:upper-layer:association  lifecycle: { connectionId, phase, ... } with phase 'established',
 *                                    'rejected', 'released', 'aborted', 'closed', 'connection'
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Pdu } from './pdu/pdu.js';
import type { Transition } from './state-machine.js';

export const PDU_CHANNEL = 'conduit:upper-layer:pdu';
export const STATE_CHANNEL = 'conduit:upper-layer:state';
export const ASSOCIATION_CHANNEL = 'conduit:upper-layer:association';

export const pduChannel = diagnosticsChannel.channel(PDU_CHANNEL);
export const stateChannel = diagnosticsChannel.channel(STATE_CHANNEL);
export const associationChannel = diagnosticsChannel.channel(ASSOCIATION_CHANNEL);

export interface PduTrace {
  connectionId: string;
  direction: 'sent' | 'received';
  type: number;
  name: string;
  /** PDU-length (body bytes). */
  length: number;
  /** The decoded PDU, when it could be decoded; P-DATA payloads are views, do not keep them. */
  pdu?: Pdu;
}

export interface StateTrace extends Transition {
  connectionId: string;
}

export interface AssociationTrace {
  connectionId: string;
  phase: 'connection' | 'established' | 'rejected' | 'released' | 'aborted' | 'closed';
  [detail: string]: unknown;
}
