/**
 * Person Name (PN) values, PS3.5 §6.2.1: up to three component groups separated by '='
 * (alphabetic, ideographic, phonetic), each of up to five components separated by '^'.
 */
export interface PersonNameComponents {
  familyName: string;
  givenName: string;
  middleName: string;
  namePrefix: string;
  nameSuffix: string;
}

export class PersonName {
  readonly alphabetic: string;
  readonly ideographic: string;
  readonly phonetic: string;

  constructor(alphabetic = '', ideographic = '', phonetic = '') {
    this.alphabetic = alphabetic;
    this.ideographic = ideographic;
    this.phonetic = phonetic;
  }

  /** Parses one PN value (already decoded from its character set). */
  static parse(text: string): PersonName {
    const [a = '', i = '', p = ''] = text.split('=');
    return new PersonName(a, i, p);
  }

  static fromComponents(groups: { alphabetic?: Partial<PersonNameComponents>; ideographic?: Partial<PersonNameComponents>; phonetic?: Partial<PersonNameComponents> }): PersonName {
    return new PersonName(joinComponents(groups.alphabetic), joinComponents(groups.ideographic), joinComponents(groups.phonetic));
  }

  get components(): { alphabetic: PersonNameComponents; ideographic: PersonNameComponents; phonetic: PersonNameComponents } {
    return { alphabetic: splitComponents(this.alphabetic), ideographic: splitComponents(this.ideographic), phonetic: splitComponents(this.phonetic) };
  }

  get familyName(): string {
    return splitComponents(this.alphabetic).familyName;
  }
  get givenName(): string {
    return splitComponents(this.alphabetic).givenName;
  }

  /** The DICOM text form, with trailing empty groups removed. */
  toString(): string {
    const groups = [this.alphabetic, this.ideographic, this.phonetic];
    while (groups.length > 1 && groups[groups.length - 1] === '') groups.pop();
    return groups.join('=');
  }
}

export function splitComponents(group: string): PersonNameComponents {
  const [familyName = '', givenName = '', middleName = '', namePrefix = '', nameSuffix = ''] = group.split('^');
  return { familyName, givenName, middleName, namePrefix, nameSuffix };
}

function joinComponents(c: Partial<PersonNameComponents> | undefined): string {
  if (!c) return '';
  const parts = [c.familyName ?? '', c.givenName ?? '', c.middleName ?? '', c.namePrefix ?? '', c.nameSuffix ?? ''];
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.join('^');
}
