#!/usr/bin/python3
"""make_malformed.py: writes the malformed-archive corpus of
tests/torchscript/malformed/ from the torch 1.13 MLP fixture: for each case
NN_NAME.pt and NN_NAME.expected, the text `aotc check NN_NAME.pt` must print
in its one error (written here by hand, not taken from aotc).

    /usr/bin/python3 tests/torchscript/make_malformed.py

Each archive keeps the layout torch writes (one top folder named after the
file's stem) and breaks one thing: the zip layer (truncation, '..' and
absolute names, a zip bomb, a bad CRC, a duplicate entry), the pickles (a
global outside the whitelist, truncation, a bad opcode, a storage smaller
than its tensor), the code (a syntax error, a missing class) or the archive
as a whole (no version, big-endian, written by torch.save).
"""
import io
import os
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "fixtures", "torch-1.13", "mlp_traced.pt")
OUT = os.path.join(HERE, "malformed")
CONTAINER = "code/__torch__/torch/nn/modules/container.py"


def entries():
    """The fixture's entries below its top folder, in order: [(path, bytes)]."""
    with zipfile.ZipFile(SOURCE) as z:
        return [(n.split("/", 1)[1], z.read(n)) for n in z.namelist()]


def zip_of(stem, items, raw_names=()):
    """A zip with the items below `stem/` (code deflated, the rest stored);
    names in raw_names are written as they are, without the folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in items:
            name = path if path in raw_names else f"{stem}/{path}"
            method = zipfile.ZIP_DEFLATED if path.endswith(".py") else zipfile.ZIP_STORED
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def replaced(path, data):
    return [(p, data if p == path else d) for p, d in entries()]


def without(path):
    return [(p, d) for p, d in entries() if p != path]


def data_pkl():
    return dict(entries())["data.pkl"]


def case_truncated(stem):
    return zip_of(stem, entries())[:1000]


def case_dotdot(stem):
    return zip_of(stem, entries() + [(f"{stem}/../../etc/passwd", b"x")], {f"{stem}/../../etc/passwd"})


def case_absolute(stem):
    return zip_of(stem, entries() + [("/etc/passwd", b"x")], {"/etc/passwd"})


def case_bomb(stem):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(f"{stem}/data.pkl"), bytes(20 << 20), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def case_bad_crc(stem):
    raw = bytearray(zip_of(stem, entries()))
    at = raw.find(b"data/0") + len(b"data/0")
    raw[at + 64] ^= 0x55
    return bytes(raw)


def case_duplicate(stem):
    return zip_of(stem, entries() + [("version", b"3\n")])


def case_evil_global(stem):
    return zip_of(stem, replaced("data.pkl", b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."))


def case_truncated_pickle(stem):
    return zip_of(stem, replaced("data.pkl", data_pkl()[:-1]))


def case_bad_opcode(stem):
    pkl = bytearray(data_pkl())
    pkl[-1] = 0xf0
    return zip_of(stem, replaced("data.pkl", bytes(pkl)))


def case_small_storage(stem):
    return zip_of(stem, replaced("data/0", dict(entries())["data/0"][:8]))


def case_syntax(stem):
    code = dict(entries())[CONTAINER].replace(b"def forward(self", b"def forward(self self")
    return zip_of(stem, replaced(CONTAINER, code))


def case_missing_class(stem):
    return zip_of(stem, without(CONTAINER))


def case_no_version(stem):
    return zip_of(stem, without("version"))


def case_big_endian(stem):
    return zip_of(stem, entries() + [("byteorder", b"big")])


def case_torch_save(stem):
    import torch
    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(2, 2)}, buf)
    return buf.getvalue()


CASES = [
    ("01_truncated", case_truncated, "01_truncated.pt: error: not a zip archive (no end of central directory record; truncated?)"),
    ("02_dotdot_name", case_dotdot, "02_dotdot_name.pt: error: zip entry '02_dotdot_name/../../etc/passwd' has a '..' component"),
    ("03_absolute_name", case_absolute, "03_absolute_name.pt: error: zip entry '/etc/passwd' is an absolute path"),
    ("04_zip_bomb", case_bomb, "past the compression ratio limit 100:1 (zip bomb?)"),
    ("05_bad_crc", case_bad_crc, "05_bad_crc.pt: error: zip entry '05_bad_crc/data/0': CRC-32 mismatch"),
    ("06_duplicate_entry", case_duplicate, "06_duplicate_entry.pt: error: zip entry '06_duplicate_entry/version' appears twice"),
    ("07_evil_global", case_evil_global, "07_evil_global.pt:data.pkl: error: global 'os.system' is not allowed in a TorchScript pickle"),
    ("08_truncated_pickle", case_truncated_pickle, "08_truncated_pickle.pt:data.pkl: error: the pickle ends without STOP (truncated?)"),
    ("09_bad_opcode", case_bad_opcode, f"09_bad_opcode.pt:data.pkl: error: unsupported pickle opcode 0xf0 (pickle byte {len(data_pkl()) - 1})"),
    ("10_small_storage", case_small_storage, "10_small_storage.pt:data.pkl: error: storage 'data/0' holds 8 bytes, fewer than its 2048 float32 elements"),
    ("11_syntax_error", case_syntax, "11_syntax_error.pt:" + CONTAINER + ":11:20: error: expected ')', found 'self'"),
    ("12_missing_class", case_missing_class, "12_missing_class.pt:data.pkl: error: module '<root>' is of class '__torch__.torch.nn.modules.container.Sequential', which no code file defines"),
    ("13_no_version", case_no_version, "13_no_version.pt: error: the archive has no 'version' entry"),
    ("14_big_endian", case_big_endian, "14_big_endian.pt: error: the archive's byte order is 'big'; only little-endian archives are supported"),
    ("15_torch_save", case_torch_save, "15_torch_save.pt: error: the archive has no code/ folder: it was written by torch.save, not torch.jit.save"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for stem, make, expected in CASES:
        with open(os.path.join(OUT, stem + ".pt"), "wb") as f:
            f.write(make(stem))
        with open(os.path.join(OUT, stem + ".expected"), "w") as f:
            f.write(expected + "\n")
    print(f"{OUT}: {len(CASES)} archives", file=sys.stderr)


if __name__ == "__main__":
    main()
