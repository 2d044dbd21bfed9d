#!/usr/bin/python3
"""
Oracle for test/interop/pydicom-json.test.ts: prints one JSON object mapping each file path given on
the command line to what pydicom makes of it, in one process (starting Python per file is slow).

  {"<path>": {"json": {...DICOM JSON model of the data set...}, "forced": bool, "littleEndian": bool}
   "<path>": {"error": "<why pydicom cannot read it>"}}

Elements are converted one by one (not with Dataset.to_json_dict) so that one element pydicom cannot
convert is reported as {"__error__": "..."} in its place instead of losing the whole file.
"""
import json
import sys
import warnings

import pydicom
from pydicom.errors import InvalidDicomError


def element_json(elem):
    if elem.VR == 'SQ':
        return {'vr': 'SQ', 'Value': [dataset_json(item) for item in elem.value]}
    try:
        return elem.to_json_dict(None, 1024)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which decides
        return {'__error__': f'{type(exc).__name__}: {exc}'}


def dataset_json(ds):
    out = {}
    for tag in ds.keys():
        key = '{:08X}'.format(tag)
        try:
            elem = ds[tag]
        except Exception as exc:  # noqa: BLE001
            out[key] = {'__error__': f'{type(exc).__name__}: {exc}'}
            continue
        out[key] = element_json(elem)
    return out


def main(paths):
    result = {}
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            forced = False
            try:
                try:
                    ds = pydicom.dcmread(path)
                except InvalidDicomError:
                    forced = True
                    ds = pydicom.dcmread(path, force=True)
                result[path] = {'json': dataset_json(ds), 'forced': forced, 'littleEndian': bool(ds.is_little_endian)}
            except Exception as exc:  # noqa: BLE001
                result[path] = {'error': f'{type(exc).__name__}: {exc}'}
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1:])
