/**
 * A one-line progress bar for long transfers, drawn on a terminal only (when the stream is not a
 * TTY, e.g. a log file or a pipe, nothing is drawn): files done of total, megabytes, the rate in
 * MB/s. Notes printed while it runs go above the bar, which is then redrawn.
 */
import { performance } from 'node:perf_hooks';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

const REDRAW_MS = 100;

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private readonly started = performance.now();
  private done = 0;
  private bytes = 0;
  private lastDraw = 0;
  private drawn = false;

  private readonly showBytes: boolean;

  /** `bytes: false`: count files only (a C-MOVE's sub-operations, whose bytes go elsewhere). */
  constructor(stream: ProgressStream, private total: number, private readonly totalBytes: number, options: { enabled?: boolean; bytes?: boolean } = {}) {
    this.stream = stream;
    this.enabled = options.enabled ?? stream.isTTY === true;
    this.showBytes = options.bytes ?? true;
  }

  /** Records progress; redraws at most every 100 ms (and always at the last file). `total` changes the total (known as it goes). */
  update(done: number, bytes: number, total?: number): void {
    this.done = done;
    this.bytes = bytes;
    if (total !== undefined) this.total = total;
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && done < this.total) return;
    this.lastDraw = now;
    this.draw();
  }

  /** Prints a line (a note, a failure) without breaking the bar. */
  note(line: string): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(line.endsWith('\n') ? line : `${line}\n`);
    if (this.enabled && this.drawn) this.draw();
  }

  /** Removes the bar (the summary follows). */
  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** The bar's text for a given width (exposed for tests). */
  render(width: number): string {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.bytes / 1e6 / seconds : 0;
    // A total of 0 bytes: not known in advance (a C-GET), only what came so far is shown.
    const megabytes = this.totalBytes > 0 ? `${mb(this.bytes)}/${mb(this.totalBytes)}` : mb(this.bytes);
    const info = ` ${this.done}/${this.total} files${this.showBytes ? `  ${megabytes} MB  ${rate.toFixed(1)} MB/s` : ''}`;
    const barWidth = Math.max(0, Math.min(40, width - info.length - 3));
    if (barWidth < 5) return info.trimStart().slice(0, Math.max(0, width - 1));
    const fraction = this.total > 0 ? this.done / this.total : 1;
    const filled = Math.round(fraction * barWidth);
    return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${info}`;
  }

  private draw(): void {
    // A pseudo-terminal may report 0 columns.
    this.stream.write(`\r\x1b[K${this.render(this.stream.columns || 80)}`);
    this.drawn = true;
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
