/**
 * Real peers come from Debian packages. Outside CI a missing peer skips the test with a one-line
 * reason; with CI=true a missing peer is a failure (the conventions' test layer 4).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const PYTHON = '/usr/bin/python3';
export const PYDICOM_DATA = '/usr/lib/python3/dist-packages/pydicom/data';

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns undefined when the peer is there; else a skip reason (outside CI) or throws (in CI).
 * Use as: `test('x', { skip: peer('dcmtk') }, ...)`.
 */
export function peer(name: 'dcmtk' | 'pydicom' | 'dicom3tools' | 'gdcm' | 'orthanc'): string | undefined {
  let ok: boolean;
  switch (name) {
    case 'dcmtk': ok = hasCommand('dcmdump'); break;
    case 'dicom3tools': ok = hasCommand('dciodvfy'); break;
    case 'gdcm': ok = hasCommand('gdcmconv'); break;
    // Debian's package puts the server in /usr/sbin, which a user's PATH may leave out.
    case 'orthanc': ok = hasCommand('Orthanc') || existsSync('/usr/sbin/Orthanc'); break;
    case 'pydicom':
      ok = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom'], { stdio: 'ignore' }).status === 0;
      break;
  }
  if (ok) return undefined;
  const reason = `peer ${name} is not installed (see .ci/run)`;
  if (IN_CI) throw new Error(`${reason}; CI requires it`);
  return reason;
}
