/**
 * `conduit web qido|wado|stow URL ...`: a DICOMweb user agent (PS3.18 §10) on the command line, built
 * on DicomWebClient. URL is the service's root (`http://host:8042/dicom-web`).
 *
 *   qido: QIDO-RS search, one JSON model data set per line on stdout (like `conduit find`)
 *   wado: WADO-RS retrieve into a folder as Part 10 files, or metadata as JSON lines
 *   stow: STOW-RS of files and folders (web-stow.ts)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { toDicomJson, toDicomJsonText } from '../../data/json-model.js';
import type { DicomWebClient, QidoQuery } from '../../dicomweb/client/index.js';
import { ProgressBar } from '../progress.js';
import { exitWhenFlushed, parseCount } from '../network-options.js';
import { addWebOptions, clientFor, collect, describeWebError, type WebFlags } from '../web-options.js';
import { webStowCommand } from './web-stow.js';

// ---- qido ----

interface QidoFlags extends WebFlags {
  level: 'studies' | 'series' | 'instances';
  study?: string;
  series?: string;
  key: string[];
  includefield: string[];
  fuzzy?: boolean;
  limit?: number;
  offset?: number;
  quiet?: boolean;
}

function parseOffset(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return Number(text);
}

/** -k KEY=VALUE to a match; -k KEY alone asks for the attribute to be returned (includefield). */
export function qidoQueryOf(flags: Pick<QidoFlags, 'key' | 'includefield' | 'fuzzy' | 'limit' | 'offset'>): QidoQuery {
  const query: QidoQuery = {};
  const include = [...flags.includefield];
  for (const k of flags.key) {
    const eq = k.indexOf('=');
    if (eq < 0) include.push(k);
    else query[k.slice(0, eq)] = k.slice(eq + 1);
  }
  if (include.length) query.includefield = include;
  if (flags.fuzzy) query.fuzzymatching = true;
  if (flags.limit !== undefined) query.limit = flags.limit;
  if (flags.offset !== undefined) query.offset = flags.offset;
  return query;
}

function qidoCommand(): Command {
  return addWebOptions(new Command('qido').description('search (QIDO-RS): one JSON object (PS3.18 F) per result per line'))
    .addOption(new Option('--level <level>', 'what to search for').choices(['studies', 'series', 'instances']).default('studies'))
    .option('--study <uid>', 'search within this study (series, instances)')
    .option('--series <uid>', 'search within this series (instances; needs --study)')
    .addOption(new Option('-k, --key <key[=value]>', 'a matching key (keyword, tag or sequence path) and its value; without =value, an attribute to return').argParser(collect).default([]))
    .addOption(new Option('--includefield <attribute>', 'an attribute to return beyond the defaults, or "all"').argParser(collect).default([]))
    .option('--fuzzy', 'fuzzymatching=true (person names)')
    .addOption(new Option('--limit <n>', 'at most n results').argParser(parseCount))
    .addOption(new Option('--offset <n>', 'skip the first n results').argParser(parseOffset))
    .option('-q, --quiet', 'no summary line on stderr')
    .addHelpText('after', `
Each result is printed as it arrives, as one line of the DICOM JSON model. A summary (the number of
results, and the server's Warning header, e.g. when it cut the results) goes to stderr. Exit
status: 0 when the server answered (with results or none), 1 otherwise.

Examples:
  conduit web qido http://localhost:8042/dicom-web -k PatientID=1234 -k StudyDate=20200101-
  conduit web qido http://localhost:8042/dicom-web --level series --study 1.2.3 -k Modality=CT
  conduit web qido http://pacs/dicom-web -k 'PatientName=DOE^J*' --fuzzy --limit 10 | jq .`)
    .action(async (url: string, flags: QidoFlags) => {
      await exitWhenFlushed(await runQido(url, flags));
    });
}

async function runQido(url: string, flags: QidoFlags): Promise<number> {
  let count = 0;
  try {
    const client = clientFor(url, flags);
    const query = qidoQueryOf(flags);
    if (flags.series !== undefined && flags.study === undefined) throw new InvalidArgumentError('--series needs --study');
    const search = flags.level === 'studies'
      ? client.searchForStudies(query)
      : flags.level === 'series'
        ? client.searchForSeries(query, flags.study === undefined ? {} : { study: flags.study })
        : client.searchForInstances(query, { ...(flags.study === undefined ? {} : { study: flags.study }), ...(flags.series === undefined ? {} : { series: flags.series }) });
    for await (const ds of search) {
      process.stdout.write(`${toDicomJsonText(toDicomJson(ds))}\n`);
      count++;
    }
    for (const w of search.warnings) process.stderr.write(`conduit web qido: warning: ${w}\n`);
    if (!flags.quiet) process.stderr.write(`conduit web qido: ${count} result${count === 1 ? '' : 's'}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`conduit web qido: ${describeWebError(err, url)}\n`);
    return 1;
  }
}

// ---- wado ----

interface WadoFlags extends WebFlags {
  study: string;
  series?: string;
  instance?: string;
  metadata?: boolean;
  out?: string;
  transferSyntax?: string;
  progress: boolean;
}

function wadoCommand(): Command {
  return addWebOptions(new Command('wado').description('retrieve (WADO-RS) a study, series or instance as Part 10 files, or its metadata'))
    .requiredOption('--study <uid>', 'Study Instance UID')
    .option('--series <uid>', 'Series Instance UID (within the study)')
    .option('--instance <uid>', 'SOP Instance UID (within the series)')
    .option('--metadata', 'the metadata (JSON model), not the instances: one line per instance on stdout, or <SOP Instance UID>.json files with --out')
    .option('--out <dir>', 'folder to write <SOP Instance UID>.dcm files into (created if need be)')
    .option('--transfer-syntax <uid>', 'transfer syntax to ask for: a UID, or * for each instance as stored (default: the server\'s, Explicit VR Little Endian)')
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
    .addHelpText('after', `
Instances are streamed to the folder as they arrive, each written under a temporary name and
renamed to <SOP Instance UID>.dcm once complete. A summary line follows. Exit status: 0 when
everything asked for was retrieved, 1 otherwise.

Examples:
  conduit web wado http://localhost:8042/dicom-web --study 1.2.3 --out study/
  conduit web wado http://localhost:8042/dicom-web --study 1.2.3 --series 1.2.3.4 --transfer-syntax '*' --out series/
  conduit web wado http://localhost:8042/dicom-web --study 1.2.3 --metadata | jq .`)
    .action(async (url: string, flags: WadoFlags) => {
      await exitWhenFlushed(await runWado(url, flags));
    });
}

async function runWado(url: string, flags: WadoFlags): Promise<number> {
  const started = performance.now();
  const where = 'conduit web wado';
  if (flags.instance !== undefined && flags.series === undefined) {
    process.stderr.write(`${where}: --instance needs --series\n`);
    return 1;
  }
  if (!flags.metadata && flags.out === undefined) {
    process.stderr.write(`${where}: give --out DIR for the instances (or --metadata)\n`);
    return 1;
  }
  const client = clientFor(url, flags);
  try {
    if (flags.out !== undefined) await mkdir(flags.out, { recursive: true });
    if (flags.metadata) {
      const dataSets = await client.retrieveMetadata(flags.study, flags.series, flags.instance);
      for (const ds of dataSets) {
        const text = toDicomJsonText(toDicomJson(ds));
        if (flags.out === undefined) process.stdout.write(`${text}\n`);
        else await writeFile(join(flags.out, `${(ds.string(0x00080018) ?? `instance-${dataSets.indexOf(ds)}`).replace(/[^0-9A-Za-z.-]/g, '_')}.json`), `${text}\n`);
      }
      process.stderr.write(`${where}: metadata of ${dataSets.length} instance${dataSets.length === 1 ? '' : 's'}\n`);
      return 0;
    }
    const out = flags.out!;
    // The bar is drawn on a terminal only; its total comes from a QIDO-RS count and the response's length.
    const total = flags.progress && process.stderr.isTTY ? await countInstances(client, flags) : 0;
    let bar: ProgressBar | undefined;
    const options = {
      ...(flags.transferSyntax === undefined ? {} : { transferSyntax: flags.transferSyntax }),
      onResponse: ({ contentLength }: { contentLength: number | undefined }) => {
        bar = new ProgressBar(process.stderr, total, contentLength ?? 0, flags.progress && total > 0 ? {} : { enabled: false });
      },
    };
    const instances = flags.instance !== undefined
      ? client.retrieveInstance(flags.study, flags.series!, flags.instance, options)
      : flags.series !== undefined
        ? client.retrieveSeries(flags.study, flags.series, options)
        : client.retrieveStudy(flags.study, options);
    let count = 0;
    let bytes = 0;
    try {
      for await (const instance of instances) {
        const saved = await instance.saveTo(out);
        count++;
        bytes += saved.size;
        bar?.update(count, bytes);
      }
    } finally {
      bar?.finish();
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`retrieved ${count} instance${count === 1 ? '' : 's'}; ${(bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(1)} instances/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s)\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${where}: ${describeWebError(err, url)}\n`);
    return 1;
  }
}

/** How many instances the retrieval will bring, for the progress bar (0 when the server will not say). */
async function countInstances(client: DicomWebClient, flags: WadoFlags): Promise<number> {
  if (flags.instance !== undefined) return 1;
  try {
    let n = 0;
    for await (const _ of client.searchForInstances({ includefield: '00080018' }, { study: flags.study, ...(flags.series === undefined ? {} : { series: flags.series }) })) n++;
    return n;
  } catch {
    return 0;
  }
}

export function webCommand(): Command {
  return new Command('web')
    .description('DICOMweb client: search (qido), retrieve (wado), store (stow)')
    .addCommand(qidoCommand())
    .addCommand(wadoCommand())
    .addCommand(webStowCommand());
}
