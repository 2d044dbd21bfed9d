/**
 * The general-purpose media storage application profiles (PS3.11): which transfer syntaxes their
 * instances may use and which keys their directory records carry beyond PS3.3 F.5. All of them take
 * every Composite IOD with a Media Storage SOP Class (PS3.11 D.3.1, H.3.1, J.3.1, M.3.1), so the SOP
 * Class check is the record type check (record-types.ts); the DICOMDIR itself is always Explicit VR
 * Little Endian.
 */
import { DicomError } from '../../core/dicom-error.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../data/transfer-syntax.js';
import type { RecordKey } from './record-types.js';

export interface ApplicationProfile {
  /** The identifier, e.g. 'STD-GEN-CD'. */
  id: string;
  /** Where it is defined. */
  source: string;
  transferSyntaxes: readonly string[];
  /** Keys added to records of these types (PS3.11 Tables D.3-2, H.3-2). */
  additionalKeys: Readonly<Record<string, readonly RecordKey[]>>;
}

const JPEG_LOSSLESS_SV1 = '1.2.840.10008.1.2.4.70';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';
const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';
const JPEG_2000 = '1.2.840.10008.1.2.4.91';

// PS3.11 D.3.3.1, Table D.3-2
const STD_GEN_KEYS: ApplicationProfile['additionalKeys'] = {
  IMAGE: [{ keyword: 'ImageType', type: '1C' }, { keyword: 'ReferencedImageSequence', type: '1C' }],
};

// PS3.11 H.3.3.1, Table H.3-2 (also for the profiles of Annexes J and M)
const STD_GEN_COMPRESSED_KEYS: ApplicationProfile['additionalKeys'] = {
  PATIENT: [{ keyword: 'PatientBirthDate', type: '1C' }, { keyword: 'PatientSex', type: '1C' }],
  SERIES: [{ keyword: 'InstitutionName', type: '1C' }, { keyword: 'InstitutionAddress', type: '1C' }, { keyword: 'PerformingPhysicianName', type: '1C' }],
  IMAGE: [
    { keyword: 'ImageType', type: '1C' }, { keyword: 'CalibrationImage', type: '1C' }, { keyword: 'ReferencedImageSequence', type: '1C' },
    { keyword: 'LossyImageCompressionRatio', type: '1C' }, { keyword: 'Rows', type: '1' }, { keyword: 'Columns', type: '1' },
    { keyword: 'FrameOfReferenceUID', type: '1C' }, { keyword: 'SynchronizationFrameOfReferenceUID', type: '1C' },
    { keyword: 'NumberOfFrames', type: '1C' }, { keyword: 'AcquisitionTimeSynchronized', type: '1C' }, { keyword: 'AcquisitionDateTime', type: '1C' },
    { keyword: 'ImagePositionPatient', type: '1C' }, { keyword: 'ImageOrientationPatient', type: '1C' }, { keyword: 'PixelSpacing', type: '1C' },
  ],
  SPECTROSCOPY: [
    { keyword: 'ReferencedImageSequence', type: '1C' }, { keyword: 'FrameOfReferenceUID', type: '1C' },
    { keyword: 'SynchronizationFrameOfReferenceUID', type: '1C' }, { keyword: 'AcquisitionTimeSynchronized', type: '1C' },
    { keyword: 'AcquisitionDateTime', type: '1C' }, { keyword: 'ImagePositionPatient', type: '1C' },
    { keyword: 'ImageOrientationPatient', type: '1C' }, { keyword: 'PixelSpacing', type: '1C' },
  ],
};

function uncompressed(id: string, source: string): ApplicationProfile {
  return { id, source, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN], additionalKeys: STD_GEN_KEYS };
}
function jpeg(id: string, source: string): ApplicationProfile {
  return { id, source, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, JPEG_LOSSLESS_SV1, JPEG_BASELINE, JPEG_EXTENDED], additionalKeys: STD_GEN_COMPRESSED_KEYS };
}
function j2k(id: string, source: string): ApplicationProfile {
  return { id, source, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN, JPEG_2000_LOSSLESS, JPEG_2000], additionalKeys: STD_GEN_COMPRESSED_KEYS };
}

const PROFILES: readonly ApplicationProfile[] = [
  uncompressed('STD-GEN-CD', 'PS3.11 Annex D'),
  uncompressed('STD-GEN-DVD-RAM', 'PS3.11 Annex D'),
  uncompressed('STD-GEN-BD', 'PS3.11 Annex D'),
  jpeg('STD-GEN-DVD-JPEG', 'PS3.11 Annex H'),
  j2k('STD-GEN-DVD-J2K', 'PS3.11 Annex H'),
  jpeg('STD-GEN-USB-JPEG', 'PS3.11 Annex J'),
  j2k('STD-GEN-USB-J2K', 'PS3.11 Annex J'),
  jpeg('STD-GEN-MMC-JPEG', 'PS3.11 Annex J'),
  j2k('STD-GEN-MMC-J2K', 'PS3.11 Annex J'),
  jpeg('STD-GEN-CF-JPEG', 'PS3.11 Annex J'),
  j2k('STD-GEN-CF-J2K', 'PS3.11 Annex J'),
  jpeg('STD-GEN-SD-JPEG', 'PS3.11 Annex J'),
  j2k('STD-GEN-SD-J2K', 'PS3.11 Annex J'),
  jpeg('STD-GEN-BD-JPEG', 'PS3.11 Annex M'),
  j2k('STD-GEN-BD-J2K', 'PS3.11 Annex M'),
];

export const DEFAULT_PROFILE = 'STD-GEN-CD';

export function profileIds(): string[] {
  return PROFILES.map((p) => p.id);
}

export function applicationProfile(id: string): ApplicationProfile {
  const found = PROFILES.find((p) => p.id === id.toUpperCase());
  if (!found) throw new DicomError('ERR_DICOM_MEDIA_PROFILE', `unknown application profile ${id}; known: ${profileIds().join(', ')}`);
  return found;
}
