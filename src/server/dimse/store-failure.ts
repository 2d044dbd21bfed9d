/**
 * What `conduit serve`'s C-STORE SCP throws when the archive cannot store an object: the status
 * every receiver answers with (services/storage/storage-failure.ts) as a ServiceError; anything
 * else stays with the dispatcher, which answers "Processing failure" (0110).
 */
import { ServiceError } from '../../dimse/index.js';
import { storageFailureStatus } from '../../services/storage/storage-failure.js';

export function storeFailure(err: unknown): unknown {
  const answer = storageFailureStatus(err);
  if (answer === undefined) return err;
  return new ServiceError(answer.status, answer.errorComment, { cause: err, ...(answer.offendingElement ? { offendingElement: answer.offendingElement } : {}) });
}
