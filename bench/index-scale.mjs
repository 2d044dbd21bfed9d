#!/usr/bin/env node
/**
 * Index scale check (not a test): 1,000,000 synthetic instance records straight into a SQLite index,
 * then C-FIND-like queries timed. Run by hand after `npx tsc -p .`:
 *
 *   node bench/index-scale.mjs                      (both mixes, 1,000,000 instances each)
 *   INSTANCES=200000 MIXES=outpatient node bench/index-scale.mjs
 *
 * How the index is filled: SqliteIndexStore.importInstances() (the same insert code as
 * insertInstance, without the group-commit queue) in transactions of 10,000 records, WAL, synchronous
 * FULL; records are built directly (level attribute records as index-record.ts makes them, no
 * DICOM encoding, no blobs, no metadata JSON), so the figures are the index's own.
 *
 * Distributions (seeded, reproducible):
 * - two study mixes: "hospital" (CT and MR studies of hundreds of images next to CR/DX of 1-4:
 *   ~90 instances per study) and "outpatient" (mostly CR/DX/MG/US: ~6 instances per study), so that
 *   the study table holds ~11,000 or ~170,000 rows for the same million instances;
 * - patients with 1 to many studies (a patient returns with probability 0.4);
 * - family names Zipf-distributed over 4,000 names built from 200 common surnames of several
 *   countries with suffixes (so "SMITH*" matches many, "SMITHSON*" few), given names over 120;
 * - Study Date uniform over 2022-01-01..2024-12-31 (weekdays 5x weekends), Study Time 07:00-19:00;
 * - Accession Number and Patient ID unique per study / patient.
 *
 * Queries (Study Root, relational, STUDY level unless named; each run ROUNDS times with different
 * values; p50 / p95 / max of the time to run find() to the end AND build every C-FIND response
 * Identifier, i.e. what the SCP does before writing to the network; and of find() alone):
 *   PatientName=<prefix>*   a family-name prefix of 3-6 letters, from the name distribution
 *   StudyDate=<day>          one day;  StudyDate=<from>-<to>  a 7-day range
 *   PatientID=<id>           exact;    AccessionNumber=<acc> exact
 *   PatientName + StudyDate  prefix within a 30-day range
 *   ModalitiesInStudy=MR + StudyDate 7-day range (instr() on the multi-valued column)
 *   SERIES of a study, IMAGE of a series (the retrieval-side queries)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSet } from '../dist/src/data/data-set.js';
import { parseIdentifier, buildFindResponse } from '../dist/src/query/index.js';
import { SqliteIndexStore } from '../dist/src/storage/index.js';

const INSTANCES = Number(process.env.INSTANCES ?? 1_000_000);
const MIXES = (process.env.MIXES ?? 'hospital,outpatient').split(',');
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const SYNCHRONOUS = process.env.SYNCHRONOUS ?? 'FULL';
const KEEP = process.env.KEEP === '1';

// ---- seeded randomness ----
let seed = 0x2545f491;
function rand() {
  // xorshift32
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 0x100000000;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pickOf = (xs) => xs[Math.floor(rand() * xs.length)];

const SURNAMES = [
  'SMITH', 'JOHNSON', 'WILLIAMS', 'BROWN', 'JONES', 'GARCIA', 'MILLER', 'DAVIS', 'RODRIGUEZ', 'MARTINEZ', 'HERNANDEZ', 'LOPEZ',
  'GONZALEZ', 'WILSON', 'ANDERSON', 'THOMAS', 'TAYLOR', 'MOORE', 'JACKSON', 'MARTIN', 'LEE', 'PEREZ', 'THOMPSON', 'WHITE', 'HARRIS',
  'SANCHEZ', 'CLARK', 'RAMIREZ', 'LEWIS', 'ROBINSON', 'WALKER', 'YOUNG', 'ALLEN', 'KING', 'WRIGHT', 'SCOTT', 'TORRES', 'NGUYEN', 'HILL',
  'FLORES', 'GREEN', 'ADAMS', 'NELSON', 'BAKER', 'HALL', 'RIVERA', 'CAMPBELL', 'MITCHELL', 'CARTER', 'ROBERTS', 'MÜLLER', 'SCHMIDT',
  'SCHNEIDER', 'FISCHER', 'WEBER', 'MEYER', 'WAGNER', 'BECKER', 'SCHULZ', 'HOFFMANN', 'KOCH', 'RICHTER', 'KLEIN', 'WOLF', 'SCHRÖDER',
  'NEUMANN', 'SCHWARZ', 'ZIMMERMANN', 'BRAUN', 'KRÜGER', 'DUBOIS', 'DURAND', 'LEFEBVRE', 'MOREAU', 'LAURENT', 'SIMON', 'MICHEL',
  'LEROY', 'ROUX', 'DAVID', 'BERTRAND', 'MOREL', 'FOURNIER', 'GIRARD', 'BONNET', 'ROSSI', 'RUSSO', 'FERRARI', 'ESPOSITO', 'BIANCHI',
  'ROMANO', 'COLOMBO', 'RICCI', 'MARINO', 'GRECO', 'BRUNO', 'GALLO', 'CONTI', 'DE LUCA', 'COSTA', 'GIORDANO', 'MANCINI', 'RIZZO',
  'LOMBARDI', 'MORETTI', 'JANSEN', 'DE JONG', 'DE VRIES', 'VAN DIJK', 'BAKKER', 'VISSER', 'SMIT', 'MEIJER', 'DE BOER', 'MULDER',
  'NOWAK', 'KOWALSKI', 'WIŚNIEWSKI', 'WÓJCIK', 'KOWALCZYK', 'KAMIŃSKI', 'LEWANDOWSKI', 'ZIELIŃSKI', 'SZYMAŃSKI', 'WOŹNIAK',
  'SILVA', 'SANTOS', 'FERREIRA', 'PEREIRA', 'OLIVEIRA', 'RODRIGUES', 'MARTINS', 'JESUS', 'SOUSA', 'FERNANDES', 'GONÇALVES',
  'HANSEN', 'NIELSEN', 'JENSEN', 'PEDERSEN', 'ANDERSEN', 'LARSEN', 'SØRENSEN', 'RASMUSSEN', 'JOHANSSON', 'KARLSSON', 'NILSSON',
  'ERIKSSON', 'LARSSON', 'OLSSON', 'PERSSON', 'SVENSSON', 'GUSTAFSSON', 'PETTERSSON', 'KORHONEN', 'VIRTANEN', 'MÄKINEN', 'NIEMINEN',
  'TANAKA', 'SUZUKI', 'TAKAHASHI', 'WATANABE', 'ITO', 'YAMAMOTO', 'NAKAMURA', 'KOBAYASHI', 'KATO', 'YOSHIDA', 'KIM', 'PARK', 'CHOI',
  'JUNG', 'KANG', 'CHO', 'YOON', 'JANG', 'WANG', 'LI', 'ZHANG', 'LIU', 'CHEN', 'YANG', 'HUANG', 'ZHAO', 'WU', 'ZHOU', 'XU', 'SUN',
  'MA', 'ZHU', 'HU', 'GUO', 'HE', 'GAO', 'LIN', 'LUO', 'KUMAR', 'SINGH', 'SHARMA', 'PATEL', 'GUPTA', 'KHAN', 'ALI', 'AHMED',
];
const SUFFIXES = ['', '', '', 'SON', 'MAN', 'ER', 'S', 'EL', 'INI', 'OV', 'OVA', 'SKI', 'EN', 'ING', 'WOOD', 'FIELD', 'TON', 'ERT', 'ANI', 'ESCU'];
const GIVEN = [
  'JAMES', 'MARY', 'JOHN', 'PATRICIA', 'ROBERT', 'JENNIFER', 'MICHAEL', 'LINDA', 'WILLIAM', 'ELIZABETH', 'DAVID', 'BARBARA', 'RICHARD',
  'SUSAN', 'JOSEPH', 'JESSICA', 'THOMAS', 'SARAH', 'CHARLES', 'KAREN', 'ANNA', 'MARIA', 'PETER', 'HANS', 'JÜRGEN', 'URSULA', 'PIERRE',
  'MARIE', 'JEAN', 'SOPHIE', 'GIUSEPPE', 'GIULIA', 'MARCO', 'FRANCESCA', 'JAN', 'EVA', 'PIOTR', 'AGNIESZKA', 'JOÃO', 'ANA', 'LARS',
  'INGRID', 'MIKKO', 'AINO', 'HIROSHI', 'YUKI', 'MIN-JUN', 'JI-WOO', 'WEI', 'XIN', 'RAHUL', 'PRIYA', 'AHMED', 'FATIMA', 'OMAR', 'LEILA',
  ...Array.from({ length: 64 }, (_, i) => `GIVEN${i}`),
];
const FAMILY = [];
for (const s of SURNAMES) for (const x of SUFFIXES) FAMILY.push(s + x);
const UNIQUE_FAMILY = [...new Set(FAMILY)];
// Zipf weights (s = 1) over the family names, in a fixed shuffled order.
const order = UNIQUE_FAMILY.map((n, i) => [n, Math.sin(i * 12.9898) * 43758.5453 % 1]).sort((a, b) => a[1] - b[1]).map(([n]) => n);
const cumulative = [];
let total = 0;
for (let i = 0; i < order.length; i++) { total += 1 / (i + 1); cumulative.push(total); }
function familyName() {
  const x = rand() * total;
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid] < x) lo = mid + 1; else hi = mid; }
  return order[lo];
}

const DAY0 = Date.UTC(2022, 0, 1);
const DAYS = 3 * 365 + 1;
function studyDate() {
  for (;;) {
    const d = new Date(DAY0 + int(0, DAYS - 1) * 86_400_000);
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
    if (!weekend || rand() < 0.2) return d.toISOString().slice(0, 10).replace(/-/g, '');
  }
}
const pad = (n, w) => String(n).padStart(w, '0');

const SOP = { CT: '1.2.840.10008.5.1.4.1.1.2', MR: '1.2.840.10008.5.1.4.1.1.4', CR: '1.2.840.10008.5.1.4.1.1.1', DX: '1.2.840.10008.5.1.4.1.1.1.1', US: '1.2.840.10008.5.1.4.1.1.6.1', MG: '1.2.840.10008.5.1.4.1.1.1.2', SR: '1.2.840.10008.5.1.4.1.1.88.22', PT: '1.2.840.10008.5.1.4.1.1.128' };
// [modality, share of studies, series range, instances per series range, body parts]
const MIX = {
  hospital: [['CT', 0.14, [2, 6], [60, 250]], ['MR', 0.10, [5, 12], [20, 60]], ['CR', 0.30, [1, 2], [1, 2]], ['DX', 0.16, [1, 2], [1, 2]], ['US', 0.12, [1, 1], [10, 60]], ['MG', 0.10, [1, 1], [4, 8]], ['PT', 0.03, [2, 4], [100, 300]], ['SR', 0.05, [1, 1], [1, 1]]],
  outpatient: [['CR', 0.40, [1, 2], [1, 3]], ['DX', 0.20, [1, 2], [1, 3]], ['MG', 0.15, [1, 1], [4, 8]], ['US', 0.15, [1, 1], [5, 30]], ['CT', 0.05, [1, 3], [20, 100]], ['MR', 0.05, [3, 6], [15, 40]]],
};
const BODY = ['CHEST', 'HEAD', 'ABDOMEN', 'PELVIS', 'KNEE', 'SPINE', 'BREAST', 'HAND', 'FOOT', 'SHOULDER'];
function pickModality(mix) {
  let x = rand();
  for (const m of mix) { if ((x -= m[1]) <= 0) return m; }
  return mix[0];
}

/** Generates the records of a mix: patients, studies, series, instances. */
function* records(mixName, count, sample) {
  const mix = MIX[mixName];
  const patients = [];
  let made = 0, studyNo = 0;
  while (made < count) {
    let patient;
    if (patients.length > 0 && rand() < 0.4) patient = pickOf(patients);
    else {
      patient = {
        PatientName: `${familyName()}^${pickOf(GIVEN)}`,
        PatientID: `PID${pad(patients.length + 1, 8)}`,
        PatientBirthDate: `${int(1930, 2020)}${pad(int(1, 12), 2)}${pad(int(1, 28), 2)}`,
        PatientSex: rand() < 0.5 ? 'F' : 'M',
      };
      patients.push(patient);
    }
    const [modality, , seriesRange, perSeries] = pickModality(mix);
    studyNo++;
    const studyUid = `2.25.1.${studyNo}`;
    const study = {
      StudyInstanceUID: studyUid, StudyDate: studyDate(), StudyTime: `${pad(int(7, 18), 2)}${pad(int(0, 59), 2)}${pad(int(0, 59), 2)}`,
      AccessionNumber: `ACC${pad(studyNo, 9)}`, StudyID: String(studyNo % 100000), StudyDescription: `${modality} ${pickOf(BODY)}`,
      ReferringPhysicianName: `${familyName()}^${pickOf(GIVEN)}`,
    };
    if (sample && rand() < 0.002) sample.push({ patient, study, modality });
    const nSeries = int(...seriesRange);
    for (let s = 1; s <= nSeries && made < count; s++) {
      const seriesUid = `${studyUid}.${s}`;
      const series = { SeriesInstanceUID: seriesUid, Modality: modality, SeriesNumber: String(s), SeriesDescription: `${modality} series ${s}`, BodyPartExamined: pickOf(BODY) };
      const n = int(...perSeries);
      for (let i = 1; i <= n && made < count; i++) {
        made++;
        const sopUid = `${seriesUid}.${i}`;
        yield {
          sopInstanceUid: sopUid, sopClassUid: SOP[modality], seriesInstanceUid: seriesUid, studyInstanceUid: studyUid,
          patientId: patient.PatientID, issuerOfPatientId: '',
          patient, study, series,
          instance: { SOPInstanceUID: sopUid, SOPClassUID: SOP[modality], InstanceNumber: String(i), Rows: 512, Columns: 512, AvailableTransferSyntaxUID: '1.2.840.10008.1.2.1' },
          transferSyntaxUid: '1.2.840.10008.1.2.1', blobKey: `b${made}`, size: 500_000, dataSetOffset: 300, receivedAt: new Date(),
        };
      }
    }
  }
}

function query(level, keys) {
  const ds = new DataSet();
  ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
  ds.set('QueryRetrieveLevel', 'CS', level);
  const unique = { STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' }[level];
  // A viewer's study query: the usual return keys.
  const returns = level === 'STUDY' ? ['PatientName', 'PatientID', 'PatientBirthDate', 'StudyDate', 'StudyTime', 'AccessionNumber', 'StudyDescription', 'ModalitiesInStudy', 'NumberOfStudyRelatedInstances'] : ['Modality', 'SeriesNumber'];
  for (const k of [unique, ...returns]) if (level === 'STUDY' || k !== 'Modality' || level === 'SERIES') ds.set(k, undefined, null);
  for (const [k, v] of Object.entries(keys)) ds.set(k, undefined, v);
  return parseIdentifier(ds, { model: 'StudyRoot', options: { relational: true } });
}

async function timeQuery(index, q, respond = true) {
  const t0 = performance.now();
  let n = 0;
  for await (const e of index.find(q, q.level)) {
    if (respond) buildFindResponse(q, e, { retrieveAETitles: ['CONDUIT'] });
    n++;
  }
  return { ms: performance.now() - t0, n };
}

const percentile = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

for (const mixName of MIXES) {
  seed = 0x2545f491;
  const dir = mkdtempSync(join(tmpdir(), 'conduit-index-scale-'));
  const path = join(dir, 'index.db');
  const index = new SqliteIndexStore({ path, synchronous: SYNCHRONOUS, cacheMiB: 256 });
  const sample = [];
  const t0 = performance.now();
  let batch = [];
  let done = 0;
  for (const r of records(mixName, INSTANCES, sample)) {
    batch.push(r);
    if (batch.length === 10_000) {
      index.importInstances(batch, 'keep', 10_000);
      done += batch.length;
      batch = [];
      if (done % 200_000 === 0) process.stderr.write(`  ${mixName}: ${done} instances, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    }
  }
  if (batch.length) index.importInstances(batch, 'keep', 10_000);
  const loadSeconds = (performance.now() - t0) / 1000;
  index.db.pragma('wal_checkpoint(TRUNCATE)');
  index.db.exec('ANALYZE');
  const stats = await index.stats();
  const size = statSync(path).size;
  console.log(`\n## ${mixName}: ${stats.instances} instances, ${stats.series} series, ${stats.studies} studies, ${stats.patients} patients`);
  console.log(`load: ${loadSeconds.toFixed(1)} s (${Math.round(stats.instances / loadSeconds)} instances/s, transactions of 10,000, synchronous=${SYNCHRONOUS}); database ${(size / 1e6).toFixed(0)} MB`);

  const prefixes = sample.map((s) => s.patient.PatientName.split('^')[0]).map((f, i) => f.slice(0, 3 + (i % 4)));
  const days = sample.map((s) => s.study.StudyDate);
  const plus = (d, n) => new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) + n * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  const cases = [
    ['PatientName=<prefix>*', (i) => query('STUDY', { PatientName: `${prefixes[i % prefixes.length]}*` })],
    ['StudyDate=<day>', (i) => query('STUDY', { StudyDate: days[i % days.length] })],
    ['StudyDate=<7-day range>', (i) => query('STUDY', { StudyDate: `${days[i % days.length]}-${plus(days[i % days.length], 6)}` })],
    ['PatientID=<id>', (i) => query('STUDY', { PatientID: sample[i % sample.length].patient.PatientID })],
    ['AccessionNumber=<acc>', (i) => query('STUDY', { AccessionNumber: sample[i % sample.length].study.AccessionNumber })],
    ['PatientName=<prefix>* + 30-day range', (i) => query('STUDY', { PatientName: `${prefixes[i % prefixes.length]}*`, StudyDate: `${days[i % days.length]}-${plus(days[i % days.length], 29)}` })],
    ['ModalitiesInStudy=MR + 7-day range', (i) => query('STUDY', { ModalitiesInStudy: 'MR', StudyDate: `${days[i % days.length]}-${plus(days[i % days.length], 6)}` })],
    ['SERIES of a study', (i) => query('SERIES', { StudyInstanceUID: sample[i % sample.length].study.StudyInstanceUID })],
    ['IMAGE of a series', (i) => query('IMAGE', { StudyInstanceUID: sample[i % sample.length].study.StudyInstanceUID, SeriesInstanceUID: `${sample[i % sample.length].study.StudyInstanceUID}.1` })],
  ];
  console.log('\n| query | results p50 / p95 | p50 ms | p95 ms | max ms | find() alone p50 / p95 ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, make] of cases) {
    await timeQuery(index, make(ROUNDS)); // warm-up
    const times = [];
    const bare = [];
    const counts = [];
    for (let i = 0; i < ROUNDS; i++) {
      const q = make(i);
      const { ms, n } = await timeQuery(index, q);
      bare.push((await timeQuery(index, q, false)).ms);
      times.push(ms);
      counts.push(n);
      if (process.env.VERBOSE) process.stderr.write(`${name} #${i}: ${n} results, ${ms.toFixed(2)} ms\n`);
    }
    console.log(`| ${name} | ${percentile(counts, 0.5)} / ${percentile(counts, 0.95)} | ${fmt(percentile(times, 0.5))} | ${fmt(percentile(times, 0.95))} | ${fmt(Math.max(...times))} | ${fmt(percentile(bare, 0.5))} / ${fmt(percentile(bare, 0.95))} |`);
  }
  await index.close();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${path}`);
}
