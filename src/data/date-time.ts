/**
 * DA, TM and DT values (PS3.5 §6.2, Table 6.2-1). Each keeps its original text: precision and
 * form matter (a DT may stop at the year; a TM may carry a fraction), and writing back must not
 * change what was stored.
 */
export class DicomDate {
  constructor(
    readonly text: string,
    readonly year: number,
    readonly month: number | undefined,
    readonly day: number | undefined,
  ) {}

  /** "YYYYMMDD"; also accepts the ACR-NEMA "YYYY.MM.DD" form that old files carry. */
  static parse(text: string): DicomDate | undefined {
    const t = text.trim();
    const m = /^(\d{4})(?:\.?(\d{2})(?:\.?(\d{2}))?)?$/.exec(t);
    if (!m) return undefined;
    return new DicomDate(text, +m[1]!, m[2] !== undefined ? +m[2] : undefined, m[3] !== undefined ? +m[3] : undefined);
  }

  toDate(): Date {
    return new Date(Date.UTC(this.year, (this.month ?? 1) - 1, this.day ?? 1));
  }
  toString(): string {
    return this.text;
  }
}

export class DicomTime {
  constructor(
    readonly text: string,
    readonly hours: number,
    readonly minutes: number | undefined,
    readonly seconds: number | undefined,
    /** Fractional seconds as written (up to 6 digits), e.g. "5" for .5 */
    readonly fraction: string | undefined,
  ) {}

  /** "HHMMSS.FFFFFF" with optional parts; also the ACR-NEMA "HH:MM:SS.frac" form. */
  static parse(text: string): DicomTime | undefined {
    const t = text.trim();
    const m = /^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(t);
    if (!m) return undefined;
    return new DicomTime(text, +m[1]!, m[2] !== undefined ? +m[2] : undefined, m[3] !== undefined ? +m[3] : undefined, m[4]);
  }

  /** Seconds since midnight, with the fraction. */
  get secondsOfDay(): number {
    return this.hours * 3600 + (this.minutes ?? 0) * 60 + (this.seconds ?? 0) + (this.fraction ? Number(`0.${this.fraction}`) : 0);
  }
  toString(): string {
    return this.text;
  }
}

export class DicomDateTime {
  constructor(
    readonly text: string,
    readonly year: number,
    readonly month: number | undefined,
    readonly day: number | undefined,
    readonly hours: number | undefined,
    readonly minutes: number | undefined,
    readonly seconds: number | undefined,
    readonly fraction: string | undefined,
    /** UTC offset in minutes ("&ZZXX"), if given. */
    readonly utcOffsetMinutes: number | undefined,
  ) {}

  /** "YYYYMMDDHHMMSS.FFFFFF&ZZXX" with every part after the year optional. */
  static parse(text: string): DicomDateTime | undefined {
    const t = text.trim();
    const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$/.exec(t);
    if (!m) return undefined;
    const n = (s: string | undefined) => (s !== undefined ? +s : undefined);
    let offset: number | undefined;
    if (m[8]) {
      const sign = m[8][0] === '-' ? -1 : 1;
      offset = sign * (+m[8].slice(1, 3) * 60 + +m[8].slice(3, 5));
    }
    return new DicomDateTime(text, +m[1]!, n(m[2]), n(m[3]), n(m[4]), n(m[5]), n(m[6]), m[7], offset);
  }

  /** The instant, taking the UTC offset if present (else as UTC). */
  toDate(): Date {
    const ms = this.fraction ? Math.round(Number(`0.${this.fraction}`) * 1000) : 0;
    const t = Date.UTC(this.year, (this.month ?? 1) - 1, this.day ?? 1, this.hours ?? 0, this.minutes ?? 0, this.seconds ?? 0, ms);
    return new Date(t - (this.utcOffsetMinutes ?? 0) * 60000);
  }
  toString(): string {
    return this.text;
  }
}
