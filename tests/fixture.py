"""fixture.py - writes tensors in the format tests/support/testlib.c reads.

"NNCLRFX1", u32 count, then per tensor: u32 name_len, name (utf-8), u32 ndim, i32 dims,
f32 data (C order, little-endian). Used by the gen_*.py fixture generators (Debian's
python3-torch; run them with /usr/bin/python3)."""
import struct

import numpy as np


def write(path, tensors):
    """tensors: dict name -> array-like (torch tensors are detached and converted)."""
    with open(path, "wb") as f:
        f.write(b"NNCLRFX1")
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors.items():
            if hasattr(t, "detach"):
                t = t.detach().cpu().numpy()
            a = np.ascontiguousarray(np.asarray(t, dtype=np.float32))
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            f.write(struct.pack("<%di" % a.ndim, *a.shape))
            f.write(a.astype("<f4").tobytes())
