/** Small readers of the request shared by the routes. */
import type { FastifyRequest } from 'fastify';
import { badRequest } from './http-error.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Rejects a path segment that is not a UID (PS3.5 §9.1: digits and dots, at most 64). */
export function checkUid(uid: string, what: string): string {
  if (uid.length > 64 || !UID.test(uid)) throw badRequest(`${what} "${uid.slice(0, 80)}" is not a UID`);
  return uid;
}

/** The query string as sent (repeated parameters kept, not parsed by the framework). */
export function rawQuery(request: FastifyRequest): string {
  const i = request.url.indexOf('?');
  return i < 0 ? '' : request.url.slice(i + 1);
}
