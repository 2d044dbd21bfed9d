/**
 * Starts Orthanc (Debian package orthanc) for an interop test: free DICOM and HTTP ports, storage
 * in `dir`, the caller's settings on top; retried on another pair of ports if it does not come up.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Background, freePort, waitForPort, withTimeout } from './network.js';

export const ORTHANC = existsSync('/usr/sbin/Orthanc') ? '/usr/sbin/Orthanc' : 'Orthanc';
export const ORTHANC_DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export interface RunningOrthanc {
  proc: Background;
  dicomPort: number;
  /** Its REST API, http://127.0.0.1:port */
  url: string;
}

export async function startOrthanc(dir: string, settings: Record<string, unknown>): Promise<RunningOrthanc> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const [dicomPort, httpPort] = [await freePort(), await freePort()];
    if (dicomPort === httpPort) continue;
    const storage = join(dir, `db-${attempt}`);
    mkdirSync(storage, { recursive: true });
    const config = join(dir, `orthanc-${attempt}.json`);
    writeFileSync(config, JSON.stringify({
      StorageDirectory: storage,
      IndexDirectory: storage,
      Plugins: [],
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomServerEnabled: true,
      DicomPort: dicomPort,
      SaveJobs: false,
      ...settings,
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
