#!/usr/bin/python3
"""gen.py: writes the malformed .npy files of this folder (a development
tool: the files are committed and the tests need no Python). EXPECT lists
the diagnostic `aotc run sum.tc --input A=FILE` must give for each."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def npy(header, data=b'', version=1):
    h = header.encode('latin1')
    pre = b'\x93NUMPY' + bytes([version, 0])
    size = 10 if version == 1 else 12
    pad = (64 - (size + len(h) + 1) % 64) % 64
    h = h + b' ' * pad + b'\n'
    n = struct.pack('<H', len(h)) if version == 1 else struct.pack('<I', len(h))
    return pre + n + h + data


def save(name, content):
    with open(os.path.join(here, name), 'wb') as f:
        f.write(content)


def hdr(descr="<f4", fortran="False", shape="(2, 3)"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


floats = struct.pack('<6f', *range(6))
save('empty.npy', b'')
save('short_magic.npy', b'\x93NUM')
save('not_npy.npy', b'PK\x03\x04 this is not a numpy file at all')
save('bad_version.npy', npy(hdr(), floats)[:6] + b'\x09\x00' + npy(hdr(), floats)[8:])
save('truncated_preamble.npy', npy(hdr(), floats)[:9])
save('truncated_header.npy', npy(hdr(), floats)[:40])
save('truncated_data.npy', npy(hdr(), floats)[:-5])
save('header_length_huge.npy', npy(hdr(), floats, version=2)[:8] + b'\xff\xff\xff\x7f' + npy(hdr(), floats, version=2)[12:])
save('fortran_order.npy', npy(hdr(fortran="True"), floats))
save('big_endian.npy', npy(hdr(descr=">f4"), floats))
save('object_dtype.npy', npy(hdr(descr="|O"), floats))
save('negative_dim.npy', npy(hdr(shape="(2, -3)"), floats))
save('shape_overflow.npy', npy(hdr(shape="(4611686018427387904, 8)"), floats))
save('over_budget.npy', npy(hdr(shape="(1073741824, 1073741824)"), floats))
save('rank_17.npy', npy(hdr(shape="(" + ", ".join(["1"] * 17) + ")"), floats))
save('no_shape.npy', npy("{'descr': '<f4', 'fortran_order': False, }", floats))
save('rank_mismatch.npy', npy(hdr(shape="(6,)"), floats))
