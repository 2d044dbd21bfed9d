/**
 * Orthanc (Debian package orthanc) started for a test with its own configuration: free DICOM and
 * HTTP ports, AE ORTHANC, storage in a folder of the test, the given modalities (AE title, host,
 * port) registered for C-MOVE and REST-triggered C-STORE, TCP_NODELAY=1 (Background's environment).
 * Waited for by polling GET /system and the DICOM port, never a fixed sleep.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Background, freePort, waitForPort, withTimeout } from './network.js';

export const ORTHANC = existsSync('/usr/sbin/Orthanc') ? '/usr/sbin/Orthanc' : 'Orthanc';

export interface RunningOrthanc {
  proc: Background;
  dicomPort: number;
  url: string;
}

/** `extra`: more configuration (e.g. DicomAlwaysAllowFind, which Orthanc leaves off for unknown callers). */
export async function startOrthanc(
  dir: string, modalities: Record<string, [aeTitle: string, host: string, port: number]>, extra: Record<string, unknown> = {},
): Promise<RunningOrthanc> {
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
      Plugins: [],
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomServerEnabled: true,
      DicomAet: 'ORTHANC',
      DicomPort: dicomPort,
      DicomCheckCalledAet: false,
      DicomModalities: modalities,
      OverwriteInstances: true,
      SaveJobs: false,
      ...extra,
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
