/**
 * Orthanc (Debian package orthanc, with orthanc-dicomweb for DICOMweb) started for a test with its
 * own configuration: free DICOM and HTTP ports, AE ORTHANC, storage in a folder of the test's,
 * and waited for by polling GET /system and the DICOM port (never a fixed sleep).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Background, freePort, waitForPort, withTimeout } from './network.js';

export const ORTHANC = existsSync('/usr/sbin/Orthanc') ? '/usr/sbin/Orthanc' : 'Orthanc';
export const ORTHANC_DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface RunningOrthanc {
  proc: Background;
  dicomPort: number;
  /** The REST API's root, http://127.0.0.1:PORT */
  url: string;
}

export interface OrthancOptions {
  /** DicomModalities of the configuration: name -> [AET, host, port]. */
  modalities?: Record<string, [string, string, number]>;
  /** Loads the DICOMweb plugin, its root at /dicom-web/. */
  dicomWeb?: boolean;
}

/** Starts Orthanc with its storage under `dir`, retrying on other ports when one was taken meanwhile. */
export async function startOrthanc(dir: string, options: OrthancOptions = {}): Promise<RunningOrthanc> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const [dicomPort, httpPort] = [await freePort(), await freePort()];
    if (dicomPort === httpPort) continue;
    const storage = join(dir, `db-${attempt}`);
    mkdirSync(storage, { recursive: true });
    const config = join(dir, `orthanc-${attempt}.json`);
    writeFileSync(config, JSON.stringify({
      Name: 'ConduitInterop',
      StorageDirectory: storage,
      IndexDirectory: storage,
      Plugins: options.dicomWeb ? [ORTHANC_DICOMWEB_PLUGIN] : [],
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomServerEnabled: true,
      DicomAet: 'ORTHANC',
      DicomPort: dicomPort,
      DicomCheckCalledAet: false,
      DicomModalities: options.modalities ?? {},
      OverwriteInstances: true,
      SaveJobs: false,
      ...(options.dicomWeb ? { DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Ssl: false } } : {}),
    }, null, 2));
    const proc = Background.start('Orthanc', ORTHANC, [config], { cwd: dir });
    const url = `http://127.0.0.1:${httpPort}`;
    try {
      await withTimeout((async () => {
        for (;;) {
          if (!proc.alive) throw new Error(`Orthanc exited:\n${proc.stderr.slice(-2000)}`);
          const ok = await fetch(`${url}/system`).then((r) => r.ok, () => false);
          if (ok) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      })(), 60_000, 'Orthanc to answer GET /system');
      await waitForPort(dicomPort, { alive: () => proc.alive });
      return { proc, dicomPort, url };
    } catch (e) {
      last = String(e);
      await proc.stop('SIGKILL');
    }
  }
  throw new Error(`Orthanc did not start: ${last}`);
}
