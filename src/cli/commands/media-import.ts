/**
 * `conduit media import DIR`: the instances of a file-set (those its DICOMDIR references with an
 * in-use record) into the archive directly (`--data`, the folder of `conduit serve`) or into a
 * Storage SCP such as a running `conduit serve` over DIMSE (`--host`, `--port`), with the public
 * connect()/store() API.
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { connect, describeFile, proposalsFor } from '../../ae/index.js';
import { DicomError } from '../../core/dicom-error.js';
import { readDicomDir, referencedFileId, type DirectoryRecord } from '../../media/dicomdir/index.js';
import { ArchiveStore, FilesystemBlobStore, SqliteIndexStore } from '../../storage/index.js';
import { addTlsClientOptions, describeNetworkError, parseAeTitle, parsePort, tlsClientOptions, wantsTls, type TlsFlags } from '../network-options.js';
import { addUserIdentityOptions, checkIdentityConfirmed, userIdentityOf, type UserIdentityFlags } from '../user-identity-options.js';

/** PS3.8 §9.3.2.2: at most 128 presentation contexts in an association. */
const MAX_CONTEXTS = 128;

interface ImportOptions extends TlsFlags, UserIdentityFlags {
  data?: string;
  host?: string;
  port?: number;
  aet: string;
  aec: string;
}

const say = (line: string): void => {
  process.stderr.write(`conduit media import: ${line}\n`);
};

/** The archive of `conduit serve --data DIR` (the same layout as src/server/serve.ts); `create` makes a new one. */
export async function openArchive(dataDir: string, options: { create?: boolean } = {}): Promise<ArchiveStore> {
  if (options.create) await mkdir(dataDir, { recursive: true });
  else if (!existsSync(join(dataDir, 'index.sqlite'))) throw new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `no archive in ${dataDir} (no index.sqlite)`);
  return new ArchiveStore({
    index: new SqliteIndexStore({ path: join(dataDir, 'index.sqlite') }),
    blobs: new FilesystemBlobStore({ root: join(dataDir, 'blobs') }),
  });
}

export function mediaImportCommand(): Command {
  const command = new Command('import')
    .description('store the instances of a file-set in the archive (--data) or in a Storage SCP such as conduit serve (--host, --port)')
    .argument('<dir>', 'the file-set\'s folder, or its DICOMDIR')
    .option('--data <dir>', 'the archive folder of conduit serve, written directly')
    .option('--host <host>', 'a Storage SCP to send to with C-STORE')
    .addOption(new Option('--port <port>', 'its port').argParser(parsePort))
    .addOption(new Option('--aet <title>', 'calling AE title (this end)').default('CONDUIT').argParser(parseAeTitle))
    .addOption(new Option('--aec <title>', 'called AE title (the peer)').default('CONDUIT').argParser(parseAeTitle));
  // With --host, the requestor's TLS and User Identity options, as for conduit store.
  return addUserIdentityOptions(addTlsClientOptions(command))
    .addHelpText('after', `
Examples:
  conduit media import /media/cdrom --data ./data
  conduit media import /media/cdrom --host localhost --port 11112 --aec CONDUIT`)
    .action(async (dir: string, options: ImportOptions) => {
      try {
        process.exitCode = await runImport(dir, options);
      } catch (err) {
        const code = (err as { code?: string }).code;
        say(`${(err as Error).message}${code ? ` [${code}]` : ''}`);
        process.exitCode = 1;
      }
    });
}

async function instancePaths(dir: string): Promise<{ root: string; paths: string[] }> {
  const file = (await stat(dir)).isDirectory() ? join(dir, 'DICOMDIR') : dir;
  const root = file.slice(0, file.length - 'DICOMDIR'.length) || '.';
  const read = await readDicomDir(file);
  for (const w of read.warnings) say(`${file}: ${w}`);
  const paths: string[] = [];
  const walk = (records: readonly DirectoryRecord[]): void => {
    for (const r of records) {
      if (!r.inUse) continue;
      const id = referencedFileId(r);
      if (id) paths.push(join(root, ...id));
      walk(r.children);
    }
  };
  walk(read.roots);
  return { root, paths };
}

async function runImport(dir: string, options: ImportOptions): Promise<number> {
  if (!options.data === !options.host) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'give either --data DIR or --host HOST --port PORT');
  const { paths } = await instancePaths(dir);
  let stored = 0;
  let failed = 0;
  let duplicates = 0;
  if (options.data) {
    const archive = await openArchive(options.data, { create: true });
    try {
      for (const path of paths) {
        try {
          const result = await archive.storeInstance({ part10: createReadStream(path) });
          if (result.status === 'inserted' || result.status === 'overwritten') stored++;
          else duplicates++;
          for (const w of result.warnings) say(`warning: ${path}: ${w}`);
        } catch (err) {
          failed++;
          say(`failed: ${path}: ${(err as Error).message}`);
        }
      }
    } finally {
      await archive.close();
    }
  } else {
    if (options.port === undefined) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--host needs --port');
    const tls = tlsClientOptions(options);
    const identity = userIdentityOf(options);
    const files = [];
    for (const path of paths) {
      try {
        files.push(await describeFile(path));
      } catch (err) {
        failed++;
        say(`failed: ${path}: ${(err as Error).message}`);
      }
    }
    // Associations of at most 128 presentation contexts each.
    const batches: (typeof files)[] = [];
    for (const f of files) {
      const last = batches[batches.length - 1];
      if (last && proposalsFor([...last, f]).length <= MAX_CONTEXTS) last.push(f);
      else batches.push([f]);
    }
    for (const batch of batches) {
      const client = await connect({
        host: options.host!, port: options.port, callingAeTitle: options.aet, calledAeTitle: options.aec, presentationContexts: proposalsFor(batch),
        ...(tls ? { tls } : {}), ...(identity ? { userIdentity: identity } : {}),
      }).catch((err: unknown) => {
        // The failure in words, its code in brackets (the action adds none to an Error without one).
        throw new Error(describeNetworkError(err, `${options.host}:${options.port}`, { tls: wantsTls(options) }), { cause: err });
      });
      await checkIdentityConfirmed(client, identity);
      try {
        for (const f of batch) {
          try {
            const status = await client.store(f);
            if (status.isSuccess || status.isWarning) stored++;
            else {
              failed++;
              say(`failed: ${f.path}: status ${status.code.toString(16).toUpperCase().padStart(4, '0')}H${status.errorComment ? ` (${status.errorComment})` : ''}`);
            }
          } catch (err) {
            failed++;
            say(`failed: ${f.path}: ${(err as Error).message}`);
          }
        }
      } finally {
        await client.release();
      }
    }
  }
  process.stdout.write(`imported ${stored} of ${paths.length} instances${duplicates ? ` (${duplicates} already there)` : ''}${failed ? `, ${failed} failed` : ''}\n`);
  return failed ? 1 : 0;
}
