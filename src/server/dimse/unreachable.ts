/**
 * Why a C-MOVE's Move Destination could not be reached, in words for the Error Comment (0000,0902)
 * of the final response (PS3.7 C.4.2.1.5; LO: 64 characters are sent) and for the log.
 */
import { DicomError, systemCause } from '../../core/dicom-error.js';
import { AssociationRejectedError } from '../../upper-layer/index.js';
import type { RemoteAe } from '../config.js';

const TRANSPORT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not resolved',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

/** PS3.8 Table 9-21 reasons, short enough for an Error Comment with the AE's address. */
const REJECT_REASONS: Record<string, string> = {
  'called-AE-title-not-recognized': 'called AE title unknown',
  'calling-AE-title-not-recognized': 'calling AE title unknown',
  'application-context-name-not-supported': 'application context unsupported',
  'protocol-version-not-supported': 'protocol version unsupported',
};

/**
 * A TLS handshake with the destination that failed (PS3.15 B.1), by the code Node or OpenSSL
 * gives it: the reason short enough to follow "TLS to AE failed: " in 64 characters, and what the
 * administrator of this server can do about it (for the log).
 */
const verifyFailed = (hint: string) => ({ reason: 'certificate verify failed', hint });
const OUR_CERTIFICATE_REFUSED = { reason: 'it refused our certificate', hint: 'the destination must trust the CA of tlsCert' };
const TLS_REASONS: Record<string, { reason: string; hint: string }> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: verifyFailed('its certificate is self-signed: give it in tlsCa'),
  SELF_SIGNED_CERT_IN_CHAIN: verifyFailed('its certificate chains to a CA not in tlsCa'),
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: verifyFailed('its certificate\'s issuer is not in tlsCa'),
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: verifyFailed('its certificate\'s issuer is not in tlsCa'),
  CERT_HAS_EXPIRED: { reason: 'its certificate has expired', hint: 'the destination must renew its certificate' },
  CERT_NOT_YET_VALID: { reason: 'its certificate is not yet valid', hint: 'check the clocks of both hosts' },
  ERR_TLS_CERT_ALTNAME_INVALID: { reason: 'its certificate names another host', hint: 'the peer\'s host must be a name or address its certificate lists' },
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: { reason: 'it requires a client certificate', hint: 'set tlsKey and tlsCert' },
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: { ...OUR_CERTIFICATE_REFUSED, reason: 'it does not trust our certificate' },
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: OUR_CERTIFICATE_REFUSED,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: OUR_CERTIFICATE_REFUSED,
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: { reason: 'handshake failure', hint: 'it may require a client certificate (tlsKey, tlsCert) or share no cipher' },
  ERR_SSL_WRONG_VERSION_NUMBER: { reason: 'no TLS on that port', hint: 'the destination\'s port speaks plain DICOM: remove +tls from the peer' },
};

/** The TLS failure under `err`, if it is one. */
function tlsFailure(peer: RemoteAe, err: unknown): { reason: string; hint: string } | undefined {
  if (!peer.tls || !(err instanceof DicomError)) return undefined;
  const code = systemCause(err)?.code;
  if (code !== undefined && TLS_REASONS[code] !== undefined) return TLS_REASONS[code];
  // A plain DICOM port resets (or closes) a connection whose first bytes are a ClientHello.
  if (err.code === 'ERR_DICOM_TRANSPORT' && (code === 'ECONNRESET' || code === 'EPIPE')) {
    return { reason: 'reset in the handshake: no TLS there?', hint: 'a DICOM port without TLS resets the connection: is +tls right for this peer?' };
  }
  if (code !== undefined && /^ERR_SSL|^ERR_TLS|CERT/.test(code)) return { reason: code.replace(/^ERR_SSL_|^ERR_TLS_/, '').toLowerCase().replace(/_/g, ' '), hint: code };
  // TLS 1.3: a server that does not trust the client certificate finds out after the handshake and closes.
  if (err.code === 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST') {
    return { reason: 'closed: our certificate refused?', hint: 'over TLS 1.3 a server closes so when it does not trust the client certificate: is tlsCert signed by a CA it trusts, or does it require one (tlsKey, tlsCert)?' };
  }
  return undefined;
}

/** Why the Move Destination could not be reached, in words for the Error Comment. */
export function unreachable(peer: RemoteAe, err: unknown): string {
  const where = `${peer.aeTitle}@${peer.host}:${peer.port}`;
  if (err instanceof AssociationRejectedError) {
    const words = /reason \d+ \(([^)]+)\)/.exec(err.message)?.[1] ?? 'no-reason-given';
    return `${where} rejected (${REJECT_REASONS[words] ?? words.replace(/-/g, ' ')})`;
  }
  // The AE title rather than the address: the reason is what must fit in the 64 characters.
  const tls = tlsFailure(peer, err);
  if (tls !== undefined) return `TLS to ${peer.aeTitle} failed: ${tls.reason}`;
  if (err instanceof DicomError) {
    const code = (err.cause as { code?: string } | undefined)?.code;
    if (code && TRANSPORT_REASONS[code]) return `${where}: ${TRANSPORT_REASONS[code]}`;
    if (err.code === 'ERR_DICOM_ASSOCIATION_TIMEOUT') return `${where}: no answer (timeout)`;
    if (closedUnanswered(peer, err)) return `${where}: closed unanswered (needs +tls?)`;
  }
  return `${where}: ${(err as Error).message}`;
}

/** A plain A-ASSOCIATE-RQ that the destination closed on without an answer, as a port that speaks only TLS does. */
function closedUnanswered(peer: RemoteAe, err: DicomError): boolean {
  return !peer.tls && err.code === 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST';
}

/** For the log: what to do about a TLS failure (with its address, which the Error Comment leaves out), or ''. */
export function tlsHint(peer: RemoteAe, err: unknown): string {
  if (err instanceof DicomError && closedUnanswered(peer, err)) return '; a port that speaks only TLS closes a plain association request so: if it does, mark the peer +tls';
  const tls = tlsFailure(peer, err);
  return tls === undefined ? '' : `; ${peer.host}:${peer.port}: ${tls.hint}`;
}
