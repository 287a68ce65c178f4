"""fit.py: how the coefficients of the emitted erff and tanhf polynomials
(src/emit_c/emit_vmath.c) were made: weighted least squares on dense
Chebyshev nodes in double (mpmath for the references), printed as float
literals. Run: /usr/bin/python3 tests/vmath/fit.py (not needed by the tests)."""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def cheb_nodes(a, b, n):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos((2 * k + 1) * np.pi / (2 * n))


def fit(f, a, b, deg, var=lambda x: x, weight=None):
    """coefficients c[0..deg] of sum c[i] * var(x)**i ~ f(x) on [a, b],
    relative error (or error times weight(x)) least."""
    x = cheb_nodes(a, b, 4000)
    y = np.array([float(f(mp.mpf(float(t)))) for t in x])
    t = var(x)
    A = np.vander(t, deg + 1, increasing=True)
    w = 1 / np.abs(y) if weight is None else weight(x)
    c, *_ = np.linalg.lstsq(A * w[:, None], y * w, rcond=None)
    c32 = c.astype(np.float32).astype(np.float64)
    err = np.max(np.abs(A @ c32 - y) * w)
    return c32, err


def show(name, c, err):
    print("%s (max weighted error %.3g):" % (name, err))
    print("  " + ", ".join("%.9ef" % v for v in c[::-1]))


ERF_SPLIT, ERF_ONE, TANH_SPLIT = 0.875, 3.925, 0.625
show("erf(x)/x in x^2, |x| < %g" % ERF_SPLIT,
     *fit(lambda x: mp.erf(x) / x if x else 2 / mp.sqrt(mp.pi), 1e-6, ERF_SPLIT, 6, var=lambda x: x * x))
show("erfc(x)*exp(x^2) in 1/x, %g <= x < %g, error of erfc" % (ERF_SPLIT, ERF_ONE),
     *fit(lambda x: mp.erfc(x) * mp.exp(x * x), ERF_SPLIT, ERF_ONE, 8, var=lambda x: 1 / x,
          weight=lambda x: np.exp(-x * x)))
show("(tanh(x)-x)/x^3 in x^2, |x| < %g" % TANH_SPLIT,
     *fit(lambda x: (mp.tanh(x) - x) / x**3, 1e-4, TANH_SPLIT, 6, var=lambda x: x * x))
