/**
 * The part of better-sqlite3's API the adapter uses (ADR 0006), typed here since the package ships
 * no types, and loaded with require (it is a CommonJS native add-on).
 */
import { createRequire } from 'node:module';
import { DicomError } from '../../core/dicom-error.js';

export type SqlValue = string | number | bigint | Uint8Array | null;

export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

export interface Statement<Row = Record<string, unknown>> {
  run(...params: readonly unknown[]): RunResult;
  get(...params: readonly unknown[]): Row | undefined;
  all(...params: readonly unknown[]): Row[];
  raw(on?: boolean): Statement<unknown[]>;
  /** Rows as the value of their first column. */
  pluck(on?: boolean): Statement<Row>;
}

export interface Database {
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly name: string;
  exec(sql: string): this;
  prepare<Row = Record<string, unknown>>(sql: string): Statement<Row>;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  /** A function that runs `fn` in a transaction (a SAVEPOINT when called inside another). */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate: (...args: A) => R };
  close(): this;
}

type DatabaseConstructor = new (filename: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database;

let ctor: DatabaseConstructor | undefined;

/** Opens (creating) a database file; ERR_DICOM_STORAGE_INDEX when better-sqlite3 cannot load or open it. */
export function openDatabase(filename: string, options: { readonly?: boolean; timeout?: number } = {}): Database {
  try {
    ctor ??= createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
  } catch (cause) {
    throw new DicomError('ERR_DICOM_STORAGE_INDEX', `better-sqlite3 is not available: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
  try {
    return new ctor(filename, options);
  } catch (cause) {
    throw new DicomError('ERR_DICOM_STORAGE_INDEX', `cannot open the index database ${filename}: ${(cause as Error).message}`, { cause });
  }
}
