"""Extraction step of tools/gen-dictionary.ts: dumps python3-pydicom's dictionaries as JSON on stdout.

Run with the system Python that has pydicom (Debian's python3-pydicom):
    /usr/bin/python3 tools/gen-dictionary.py > dictionary.json
The TypeScript half (tools/gen-dictionary.ts) turns this JSON into src/dictionary/generated/*.ts.
"""
import json
import sys

import pydicom
from pydicom import _dicom_dict, _private_dict, _uid_dict, _version


def main() -> None:
    out = {
        "pydicomVersion": pydicom.__version__,
        # the DICOM edition that _dicom_dict.py and _uid_dict.py were generated from
        "dicomEdition": _version.__dicom_version__,
        # (tag, VR, VM, name, retired, keyword)
        "tags": [[tag, *entry] for tag, entry in sorted(_dicom_dict.DicomDictionary.items())],
        # (mask, VR, VM, name, retired, keyword); masks like '60xx3000'
        "repeaters": [[mask, *entry] for mask, entry in sorted(_dicom_dict.RepeatersDictionary.items())],
        # (uid, name, type, info, retired, keyword)
        "uids": [[uid, *entry] for uid, entry in _uid_dict.UID_dictionary.items()],
        # creator -> [(key, VR, VM, name, retired)]; keys like '0029xx10'
        "private": {
            creator: [[key, *entry] for key, entry in sorted(block.items())]
            for creator, block in sorted(_private_dict.private_dictionaries.items())
        },
    }
    json.dump(out, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
