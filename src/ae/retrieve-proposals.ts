/**
 * What a C-GET SCU proposes to receive its sub-operations (PS3.4 C.4.3, PS3.7 D.3.3.4): the storage
 * SOP classes with an SCP/SCU Role Selection for each asking for the SCP role (and keeping the SCU
 * role), and presentation contexts in the transfer syntaxes it takes.
 *
 * A C-GET SCP sends each object on a context accepted in the object's own transfer syntax, or
 * converts it (decompresses it) to one accepted, or fails the sub-operation (PS3.4 C.4.3.3.1): an
 * acceptor picks one transfer syntax per context (PS3.8 §9.3.3.2), so a compressed syntax the
 * objects can arrive in needs a context of its own. By default the common image classes get one
 * context per common compressed syntax besides the uncompressed one, within the 128 contexts of an
 * association (PS3.8 §9.3.2.2): a JPEG, JPEG-LS, JPEG 2000 or RLE study then arrives as it is stored
 * (a DCMTK getscu proposes uncompressed syntaxes only, and gets either a decompressed copy or, from
 * a peer that does not decompress, such as Conduit, a failed sub-operation).
 */
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../data/transfer-syntax.js';
import type { PresentationContextProposal, RoleSelection } from '../upper-layer/index.js';

/**
 * Storage SOP Classes a C-GET proposes by default (PS3.4 B.5): the common image, waveform, SR,
 * RT and document classes. PS3.8 allows 128 presentation contexts; pass `storageSopClasses` for others.
 */
export const DEFAULT_GET_STORAGE_SOP_CLASSES: readonly string[] = [
  '1.2.840.10008.5.1.4.1.1.1', // CR
  '1.2.840.10008.5.1.4.1.1.1.1', '1.2.840.10008.5.1.4.1.1.1.1.1', // DX
  '1.2.840.10008.5.1.4.1.1.1.2', '1.2.840.10008.5.1.4.1.1.1.2.1', // MG
  '1.2.840.10008.5.1.4.1.1.1.3', '1.2.840.10008.5.1.4.1.1.1.3.1', // IO
  '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.2.1', '1.2.840.10008.5.1.4.1.1.2.2', // CT, Enhanced CT, Legacy CT
  '1.2.840.10008.5.1.4.1.1.3.1', '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.6.2', // US
  '1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.5.1.4.1.1.4.1', '1.2.840.10008.5.1.4.1.1.4.2', '1.2.840.10008.5.1.4.1.1.4.4', // MR
  '1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.5.1.4.1.1.7.1', '1.2.840.10008.5.1.4.1.1.7.2', '1.2.840.10008.5.1.4.1.1.7.3', '1.2.840.10008.5.1.4.1.1.7.4', // SC
  '1.2.840.10008.5.1.4.1.1.9.1.1', '1.2.840.10008.5.1.4.1.1.9.1.2', '1.2.840.10008.5.1.4.1.1.9.1.3', '1.2.840.10008.5.1.4.1.1.9.2.1', // ECG
  '1.2.840.10008.5.1.4.1.1.11.1', // GSPS
  '1.2.840.10008.5.1.4.1.1.12.1', '1.2.840.10008.5.1.4.1.1.12.1.1', '1.2.840.10008.5.1.4.1.1.12.2', '1.2.840.10008.5.1.4.1.1.12.2.1', // XA, RF
  '1.2.840.10008.5.1.4.1.1.20', // NM
  '1.2.840.10008.5.1.4.1.1.66', '1.2.840.10008.5.1.4.1.1.66.1', '1.2.840.10008.5.1.4.1.1.66.4', // Raw, Registration, Segmentation
  '1.2.840.10008.5.1.4.1.1.77.1.1', '1.2.840.10008.5.1.4.1.1.77.1.4', '1.2.840.10008.5.1.4.1.1.77.1.6', // VL
  '1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.88.22', '1.2.840.10008.5.1.4.1.1.88.33', '1.2.840.10008.5.1.4.1.1.88.59', // SR, KOS
  '1.2.840.10008.5.1.4.1.1.104.1', // Encapsulated PDF
  '1.2.840.10008.5.1.4.1.1.128', '1.2.840.10008.5.1.4.1.1.130', // PET, Enhanced PET
  '1.2.840.10008.5.1.4.1.1.481.1', '1.2.840.10008.5.1.4.1.1.481.2', '1.2.840.10008.5.1.4.1.1.481.3', '1.2.840.10008.5.1.4.1.1.481.4', '1.2.840.10008.5.1.4.1.1.481.5', // RT
];

/** The compressed transfer syntaxes a C-GET proposes by default, each in a context of its own (PS3.5 §10, Annex A.4). */
export const DEFAULT_GET_COMPRESSED_TRANSFER_SYNTAXES: readonly string[] = [
  '1.2.840.10008.1.2.4.70', // JPEG Lossless, First-Order Prediction
  '1.2.840.10008.1.2.4.50', // JPEG Baseline (Process 1)
  '1.2.840.10008.1.2.4.90', // JPEG 2000 (Lossless Only)
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.5', // RLE Lossless
];

/**
 * The classes that get the compressed contexts, most used first, while the contexts last: CT, MR,
 * CR, DX, MG, US, US Multi-frame, SC, XA, NM, PET, Enhanced CT.
 */
const COMPRESSED_CLASSES = [
  '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.5.1.4.1.1.1', '1.2.840.10008.5.1.4.1.1.1.1',
  '1.2.840.10008.5.1.4.1.1.1.2', '1.2.840.10008.5.1.4.1.1.6.1', '1.2.840.10008.5.1.4.1.1.3.1', '1.2.840.10008.5.1.4.1.1.7',
  '1.2.840.10008.5.1.4.1.1.12.1', '1.2.840.10008.5.1.4.1.1.20', '1.2.840.10008.5.1.4.1.1.128', '1.2.840.10008.5.1.4.1.1.2.1',
];

const UNCOMPRESSED = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];

/** PS3.8 §9.3.2.2: presentation context IDs are the odd numbers 1 to 255. */
const MAX_CONTEXTS = 128;

export interface RetrieveProposalOptions {
  /** Default DEFAULT_GET_STORAGE_SOP_CLASSES. */
  storageSopClasses?: readonly string[];
  /**
   * The transfer syntaxes of one context per SOP class (the peer picks one of them). Given, it is
   * the only context per class; default: Explicit then Implicit VR Little Endian, and the
   * compressed contexts below.
   */
  transferSyntaxes?: readonly string[];
  /** Compressed syntaxes, a context each for the common image classes proposed; default DEFAULT_GET_COMPRESSED_TRANSFER_SYNTAXES; [] for none. Not with `transferSyntaxes`. */
  compressedTransferSyntaxes?: readonly string[];
  /** Contexts the caller proposes besides (the Query/Retrieve ones); default 2. */
  otherContexts?: number;
}

export function retrieveProposals(options: RetrieveProposalOptions = {}): {
  presentationContexts: PresentationContextProposal[];
  roleSelections: RoleSelection[];
} {
  const sops = options.storageSopClasses ?? DEFAULT_GET_STORAGE_SOP_CLASSES;
  const presentationContexts: PresentationContextProposal[] = sops.map((uid) => ({ abstractSyntax: uid, transferSyntaxes: [...(options.transferSyntaxes ?? UNCOMPRESSED)] }));
  if (options.transferSyntaxes === undefined) {
    const compressed = options.compressedTransferSyntaxes ?? DEFAULT_GET_COMPRESSED_TRANSFER_SYNTAXES;
    let room = MAX_CONTEXTS - (options.otherContexts ?? 2) - presentationContexts.length;
    const proposed = new Set(sops);
    // The classes asked for that are common image classes first, then the others asked for.
    const order = [...COMPRESSED_CLASSES.filter((uid) => proposed.has(uid)), ...(options.storageSopClasses ?? []).filter((uid) => !COMPRESSED_CLASSES.includes(uid))];
    for (const uid of order) {
      if (room < compressed.length) break;
      for (const ts of compressed) presentationContexts.push({ abstractSyntax: uid, transferSyntaxes: [ts] });
      room -= compressed.length;
    }
  }
  return { presentationContexts, roleSelections: sops.map((uid) => ({ sopClassUid: uid, scuRole: true, scpRole: true })) };
}
