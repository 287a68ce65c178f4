#!/usr/bin/python3
"""Inputs and numpy references for tests/llvm/rmax.tc: rows with a NaN, all
NaN, +inf, -inf, signed zeros and a large value. The references ignore NaN
(the C helpers' compare does): numpy's nanmax and nanmin, and the
reductions' start (-inf, +inf) for a row of NaNs.

    /usr/bin/python3 tests/llvm/make_rmax.py tests/llvm
"""
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(1)
X = rng.standard_normal((6, 100)).astype(np.float32)
X[0, 5] = np.nan
X[1, :] = np.nan
X[2, 7] = np.inf
X[3, 9] = -np.inf
X[4, :] = -0.0
X[4, 3] = 0.0
X[5, 50] = 1e30
nan = np.isnan(X)
M = np.where(nan, -np.inf, X).max(axis=1).astype(np.float32)
L = np.where(nan, np.inf, X).min(axis=1).astype(np.float32)
np.save(f"{out}/rmax.X.npy", X)
np.save(f"{out}/rmax.M.npy", M)
np.save(f"{out}/rmax.L.npy", L)
