"""Prints what pydicom finds in a DICOMDIR, as JSON, for test/media/dicomdir-read.test.ts and
test/interop/dicomdir-interop.test.ts: every record of the Directory Record Sequence in file order
(offset, type, the offsets it holds, its elements' values) and, from pydicom's FileSet, the record
tree (the offset of each record's parent) and the instances' File IDs.

Usage: /usr/bin/python3 dicomdir-pydicom.py DICOMDIR
"""
import json
import sys
import warnings

from pydicom import dcmread
from pydicom.fileset import FileSet


def value_strings(elem):
    if elem.VR == 'SQ':
        return {'items': len(elem.value)}
    v = elem.value
    if v is None or v == '':
        return []
    if isinstance(v, (bytes, bytearray)):
        return {'bytes': len(v)}
    if isinstance(v, (list, tuple)) or type(v).__name__ == 'MultiValue':
        return [str(x) for x in v]
    return [str(v)]


def main(path):
    warnings.simplefilter('ignore')
    ds = dcmread(path)
    out = {
        'transferSyntax': str(ds.file_meta.TransferSyntaxUID),
        'fileSetId': ds.get('FileSetID', None),
        'first': ds.get('OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity', None),
        'last': ds.get('OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity', None),
        'records': [],
    }
    for rec in ds.DirectoryRecordSequence:
        elements = {}
        for elem in rec:
            if elem.tag.group == 0x0004 and elem.tag.element in (0x1400, 0x1410, 0x1420, 0x1430):
                continue
            elements['%08X' % int(elem.tag)] = value_strings(elem)
        out['records'].append({
            'offset': rec.seq_item_tell,
            'type': rec.get('DirectoryRecordType', None),
            'next': rec.get('OffsetOfTheNextDirectoryRecord', None),
            'lower': rec.get('OffsetOfReferencedLowerLevelDirectoryEntity', None),
            'inUse': rec.get('RecordInUseFlag', None),
            'elements': elements,
        })
    try:
        fs = FileSet(ds)
        parents = {}
        for node in fs._tree:
            parent = node.parent
            parents[str(node._offset)] = parent._offset if parent is not None and parent is not fs._tree else None
        out['tree'] = parents
        out['instances'] = sorted('/'.join(value_strings(i.node._record['ReferencedFileID'])) for i in fs)
    except Exception as exc:  # what pydicom cannot load, it says why
        out['fileSetError'] = '%s: %s' % (type(exc).__name__, exc)
    json.dump(out, sys.stdout)


main(sys.argv[1])
