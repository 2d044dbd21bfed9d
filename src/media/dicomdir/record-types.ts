/**
 * Directory Record Types and their keys (PS3.3 F.5, Tables F.5-1 and following) and which record
 * type an instance of a Storage SOP Class gets (PS3.3 F.4, Table F.4-1: the composite instances sit
 * under PATIENT / STUDY / SERIES in the record type of their IOD).
 */
import { lookupUid } from '../../dictionary/index.js';

/**
 * A key of a record: '1' must have a value (filled in when the instance lacks it), '2' is present
 * (empty when the instance lacks it), '1C' is copied when the instance has a value (the conditions
 * of PS3.3 F.5 and PS3.11 are all "if present in the instance"), '3' is copied when present.
 */
export interface RecordKey {
  keyword: string;
  type: '1' | '2' | '1C' | '3';
}

const k = (keyword: string, type: RecordKey['type']): RecordKey => ({ keyword, type });

/** The keys of each record type (Specific Character Set (0008,0005) is added where text needs it). */
export const RECORD_KEYS: Readonly<Record<string, readonly RecordKey[]>> = {
  // PS3.3 F.5.1, Table F.5-1
  PATIENT: [k('PatientName', '2'), k('PatientID', '1')],
  // PS3.3 F.5.2, Table F.5-2
  STUDY: [k('StudyDate', '1'), k('StudyTime', '1'), k('AccessionNumber', '2'), k('StudyDescription', '2'), k('StudyInstanceUID', '1C'), k('StudyID', '1')],
  // PS3.3 F.5.3, Table F.5-3
  SERIES: [k('Modality', '1'), k('SeriesInstanceUID', '1'), k('SeriesNumber', '1')],
  // PS3.3 F.5.4, Table F.5-4
  IMAGE: [k('InstanceNumber', '1')],
  // PS3.3 F.5.7
  'RT DOSE': [k('InstanceNumber', '1'), k('DoseSummationType', '1'), k('DoseComment', '3')],
  // PS3.3 F.5.8
  'RT STRUCTURE SET': [k('InstanceNumber', '1'), k('StructureSetLabel', '1'), k('StructureSetDate', '2'), k('StructureSetTime', '2')],
  // PS3.3 F.5.9
  'RT PLAN': [k('InstanceNumber', '1'), k('RTPlanLabel', '1'), k('RTPlanDate', '2'), k('RTPlanTime', '2')],
  // PS3.3 F.5.10
  'RT TREAT RECORD': [k('InstanceNumber', '1'), k('TreatmentDate', '2'), k('TreatmentTime', '2')],
  // PS3.3 F.5.11
  PRESENTATION: [
    k('InstanceNumber', '1'), k('ReferencedSeriesSequence', '1C'), k('BlendingSequence', '1C'), k('ContentLabel', '1'), k('ContentDescription', '2'),
    k('PresentationCreationDate', '1'), k('PresentationCreationTime', '1'), k('ContentCreatorName', '2'),
  ],
  // PS3.3 F.5.12
  WAVEFORM: [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1')],
  // PS3.3 F.5.13
  'SR DOCUMENT': [
    k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('VerificationDateTime', '1C'),
    k('ConceptNameCodeSequence', '1'), k('CompletionFlag', '1'), k('VerificationFlag', '1'), k('ContentSequence', '1C'),
  ],
  // PS3.3 F.5.14
  'KEY OBJECT DOC': [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ConceptNameCodeSequence', '1'), k('ContentSequence', '1C')],
  // PS3.3 F.5.15
  SPECTROSCOPY: [
    k('ImageType', '1'), k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ReferencedImageEvidenceSequence', '1C'),
    k('NumberOfFrames', '1'), k('Rows', '1'), k('Columns', '1'), k('DataPointRows', '1'), k('DataPointColumns', '1'),
  ],
  // PS3.3 F.5.16
  'RAW DATA': [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '2')],
  // PS3.3 F.5.17, F.5.18
  REGISTRATION: [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ContentLabel', '1'), k('ContentDescription', '2'), k('ContentCreatorName', '2')],
  FIDUCIAL: [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ContentLabel', '1'), k('ContentDescription', '2'), k('ContentCreatorName', '2')],
  // PS3.3 F.5.20
  'ENCAP DOC': [
    k('ContentDate', '2'), k('ContentTime', '2'), k('InstanceNumber', '1'), k('HL7InstanceIdentifier', '1C'), k('DocumentTitle', '2'),
    k('ConceptNameCodeSequence', '2'), k('MIMETypeOfEncapsulatedDocument', '1'),
  ],
  // PS3.3 F.5.22
  'VALUE MAP': [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ContentLabel', '1'), k('ContentDescription', '2'), k('ContentCreatorName', '2')],
  // PS3.3 F.5.24: the Content Identification Macro (PS3.3 Table 10-12)
  STEREOMETRIC: [k('InstanceNumber', '1'), k('ContentLabel', '1'), k('ContentDescription', '2'), k('ContentCreatorName', '2')],
  // PS3.3 F.5.31
  MEASUREMENT: [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ConceptNameCodeSequence', '1')],
  // PS3.3 F.5.32, F.5.35
  SURFACE: [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ContentLabel', '1'), k('ContentDescription', '2'), k('ContentCreatorName', '2')],
  TRACT: [k('ContentDate', '1'), k('ContentTime', '1'), k('InstanceNumber', '1'), k('ContentLabel', '1'), k('ContentDescription', '2'), k('ContentCreatorName', '2')],
};

/** The levels above an instance's record, outermost first (PS3.3 F.4, Figure F.4-1). */
export const UPPER_LEVELS = ['PATIENT', 'STUDY', 'SERIES'] as const;

// Storage SOP Classes (by dictionary keyword) whose IOD has a record type other than IMAGE (PS3.3 F.4).
const BY_KEYWORD: ReadonlyArray<[RegExp, string]> = [
  [/^KeyObjectSelectionDocumentStorage$/, 'KEY OBJECT DOC'],
  [/SR(Storage)?$|SRStorageTrial$|ReportStorage$|^ProcedureLogStorage$/, 'SR DOCUMENT'],
  [/PresentationStateStorage$|^BasicStructuredDisplayStorage$/, 'PRESENTATION'],
  [/WaveformStorage$/, 'WAVEFORM'],
  [/^RTDoseStorage$/, 'RT DOSE'],
  [/^RTStructureSetStorage$/, 'RT STRUCTURE SET'],
  [/^RT(Ion)?PlanStorage$/, 'RT PLAN'],
  [/TreatmentRecordStorage$|^RTTreatmentSummaryRecordStorage$/, 'RT TREAT RECORD'],
  [/^MRSpectroscopyStorage$/, 'SPECTROSCOPY'],
  [/^RawDataStorage$/, 'RAW DATA'],
  [/SpatialRegistrationStorage$/, 'REGISTRATION'],
  [/^SpatialFiducialsStorage$/, 'FIDUCIAL'],
  [/^Encapsulated.*Storage$/, 'ENCAP DOC'],
  [/^RealWorldValueMappingStorage$/, 'VALUE MAP'],
  [/^StereometricRelationshipStorage$/, 'STEREOMETRIC'],
  [/MeasurementsStorage$/, 'MEASUREMENT'],
  [/^SurfaceSegmentationStorage$/, 'SURFACE'],
  [/^TractographyResultsStorage$/, 'TRACT'],
];

// Storage SOP Classes outside the patient / study / series tree (PS3.3 F.4: their own record
// types, or none): not taken into a general-purpose file-set.
const NOT_PATIENT_LEVEL = /^(HangingProtocol|ColorPalette|GenericImplantTemplate|ImplantAssemblyTemplate|ImplantTemplateGroup|CTDefinedProcedureProtocol|ProtocolApproval|MediaStorageDirectory)/;

/**
 * The record type for an instance of `sopClassUid`, or a reason why it has none: not a Storage SOP
 * Class the dictionary knows, or one outside the patient tree.
 */
export function recordTypeFor(sopClassUid: string): { recordType: string } | { problem: string } {
  const entry = lookupUid(sopClassUid);
  if (!entry || entry.type !== 'SOP Class' || !/Storage(Trial)?$/.test(entry.keyword)) {
    return { problem: `SOP Class ${sopClassUid}${entry ? ` (${entry.name})` : ''} is not a Media Storage SOP Class` };
  }
  if (NOT_PATIENT_LEVEL.test(entry.keyword)) return { problem: `SOP Class ${sopClassUid} (${entry.name}) has no place under PATIENT / STUDY / SERIES records` };
  for (const [pattern, recordType] of BY_KEYWORD) if (pattern.test(entry.keyword)) return { recordType };
  return { recordType: 'IMAGE' };
}
