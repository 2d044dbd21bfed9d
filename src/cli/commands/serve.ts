import { Command } from 'commander';
import { DicomError } from '../../core/dicom-error.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { startServer } from '../../server/serve.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** `conduit serve`: the archive with its DIMSE SCP (storage, C-FIND, C-MOVE, C-GET). */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the Conduit server: archive (SQLite + files) with the DIMSE SCP (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET) and, on the HTTP port, DICOMweb (QIDO-RS, WADO-RS, STOW-RS, WADO-URI) and file-set export')
    .option('--config <file>', 'JSON configuration file (see README, "conduit serve")')
    .option('--aet <ae>', 'AE title (default CONDUIT; env CONDUIT_AET)')
    .option('--dimse-port <n>', 'DIMSE port (default 11112; env CONDUIT_DIMSE_PORT)')
    .option('--http-port <n>', 'HTTP port (default 8042; env CONDUIT_HTTP_PORT): DICOMweb under /dicom-web, WADO-URI at /wado, file-set export under /export')
    .option('--host <address>', 'listen address (default 0.0.0.0)')
    .option('--data <dir>', 'archive folder (default ./data; env CONDUIT_DATA)')
    .option('--peer <NAME=AET@HOST:PORT[+tls]>', 'a known remote AE, e.g. a C-MOVE destination (repeatable); +tls: reached over TLS, verified against --tls-ca, with --tls-key/--tls-cert as the client certificate', collect)
    .option('--restrict-to-peers', 'accept associations only from the peers\' AE titles')
    .option('--check-called-aet', 'accept associations only when they call this server by its AE title (env CONDUIT_CHECK_CALLED_AET)')
    .option('--duplicates <policy>', 'keep, overwrite or reject an instance already stored (default keep)')
    .option('--log-level <level>', 'info, warn, error, silent (default info)')
    .option('--move-associations <n>', 'C-MOVE: the most associations to the Move Destination at once, 1 to 8 (default 2; env CONDUIT_MOVE_ASSOCIATIONS)')
    .option('--pending-interval <ms>', 'C-MOVE, C-GET: the least time between two Pending responses, 0 = after every sub-operation (default 100; env CONDUIT_PENDING_INTERVAL)')
    .option('--idle-timeout <seconds>', 'abort an association that waits for its peer and receives nothing for this long, 0 = never (default 60; env CONDUIT_IDLE_TIMEOUT)')
    .option('--tls-key <file>', 'private key (PEM); with --tls-cert, the DIMSE port speaks TLS only (env CONDUIT_TLS_KEY)')
    .option('--tls-cert <file>', 'certificate (PEM) of this server, with its chain (env CONDUIT_TLS_CERT)')
    .option('--tls-ca <file>', 'CA certificates (PEM) that requestors\' certificates must verify against (they must then present one), and +tls peers\' certificates; repeatable (env CONDUIT_TLS_CA, comma-separated)', collect)
    .option('--tls-no-verify', 'accept any requestor certificate (with --tls-ca) and any +tls peer certificate (testing only)')
    .option('--http-tls-key <file>', 'private key (PEM); with --http-tls-cert, the HTTP port speaks HTTPS only (env CONDUIT_HTTP_TLS_KEY; may be the --tls-key file)')
    .option('--http-tls-cert <file>', 'certificate (PEM) of the HTTPS port, with its chain (env CONDUIT_HTTP_TLS_CERT)')
    .option('--http-tls-ca <file>', 'CA certificates (PEM) that HTTPS clients\' certificates must verify against: clients must then present one (mutual TLS); repeatable (env CONDUIT_HTTP_TLS_CA, comma-separated)', collect)
    .option('--cors-origin <origin>', 'DICOMweb: an origin allowed by CORS, or * (repeatable)', collect)
    .option('--public-url <url>', 'DICOMweb: the URL clients reach /dicom-web at (for Retrieve URLs)')
    .action(async (o: Record<string, unknown>) => {
      let config: ServerConfig;
      try {
        config = loadConfig({
          configFile: o.config as string | undefined,
          flags: {
            aeTitle: o.aet, dimsePort: o.dimsePort, httpPort: o.httpPort, host: o.host, dataDir: o.data,
            peers: o.peer, restrictToPeers: o.restrictToPeers, checkCalledAeTitle: o.checkCalledAet, duplicatePolicy: o.duplicates, logLevel: o.logLevel,
            corsOrigins: o.corsOrigin, publicUrl: o.publicUrl, moveAssociations: o.moveAssociations,
            pendingInterval: o.pendingInterval, idleTimeoutSeconds: o.idleTimeout, tlsKey: o.tlsKey, tlsCert: o.tlsCert, tlsCa: o.tlsCa, tlsNoVerify: o.tlsNoVerify,
            httpTlsKey: o.httpTlsKey, httpTlsCert: o.httpTlsCert, httpTlsCa: o.httpTlsCa,
          },
        });
      } catch (err) {
        process.stderr.write(`conduit serve: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const levels = ['error', 'warn', 'info'];
      const threshold = config.logLevel === 'silent' ? -1 : Math.max(0, levels.indexOf(config.logLevel === 'debug' || config.logLevel === 'trace' ? 'info' : config.logLevel));
      const log = (level: 'info' | 'warn' | 'error', message: string) => {
        if (levels.indexOf(level) <= threshold) process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
      };
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer(config, log);
      } catch (err) {
        // A port in use, a data folder that cannot be written: one line, not a stack trace.
        process.stderr.write(`conduit serve: ${(err as Error).message}${err instanceof DicomError ? ` [${err.code}]` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      let stopping = false;
      const stop = () => {
        if (stopping) process.exit(1);
        stopping = true;
        log('info', 'shutting down');
        void server.close().then(() => process.exit(0));
      };
      // Before the lines that say it listens: a supervisor may signal as soon as it reads them, and
      // a signal with no listener yet would end the process without closing the archive.
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // SIGHUP: read the TLS files again (a renewed certificate), as daemons do; connections open keep theirs.
      process.on('SIGHUP', () => {
        try {
          const reloaded = server.reloadTls();
          log('info', reloaded.length > 0 ? `reloaded the TLS certificates: ${reloaded.join(', ')}` : 'SIGHUP: no TLS is configured, nothing to reload');
        } catch (err) {
          log('error', `reloading the TLS certificates failed, those in use are kept: ${(err as Error).message}`);
        }
      });
      const https = config.httpTlsKey !== '';
      // What DIMSE keeps from the network, DICOMweb would give away in clear (a proxy in front may encrypt it).
      if (config.tlsKey !== '' && !https && !isLoopback(config.host)) log('warn', 'the DIMSE port speaks TLS but DICOMweb is plain HTTP: set httpTlsKey and httpTlsCert (they may be the tlsKey and tlsCert files), unless a TLS proxy is in front');
      process.stdout.write(`conduit serve: ${config.aeTitle} listening for DIMSE on port ${server.dimsePort}${config.tlsKey !== '' ? ' (TLS)' : ''}, archive in ${config.dataDir}\n`);
      process.stdout.write(`conduit serve: DICOMweb on ${https ? 'https' : 'http'}://${config.host}:${server.httpPort}/dicom-web\n`);
    });
}
