#!/usr/bin/python3
"""Writes the end-to-end fixtures of tests/kernels: random sizes, random
inputs and expected outputs computed by an independent numpy implementation
of each kernel (written directly in numpy, never by interpreting TC).

    /usr/bin/python3 tests/kernels/gen_fixtures.py [--seed N]

Dev-time tool only; the tests read the .npy files it writes:

    tests/kernels/fixtures/<entry>/<input>.npy            inputs (scalars 0-d)
    tests/kernels/fixtures/<entry>/expected_<output>.npy  expected outputs
    tests/kernels/manifest.txt   one line per case:
        FILE CASE in1 in2 ... -> out1 out2 ...
    FILE is relative to tests/kernels/, inputs are in signature order; CASE is
    the entry name, or ENTRY@VARIANT for another size regime of the entry.
    tests/kernels/random.txt     the same cases as size and value ranges,
        for the e2e pass on fresh random sizes (see SPECS below).

Every entry gets its own generator seeded from (seed, entry name), so adding
a case does not change the others. Expected values are computed in float64
from the float32 inputs and rounded to the output type at the end.
"""
import argparse
import math
import os
import shutil
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []


def case(file, entry):
    def deco(fn):
        CASES.append((file, entry, fn))
        return fn
    return deco


# ---------------------------------------------------------------- helpers

def f32(r, *shape, lo=-1.0, hi=1.0):
    return r.uniform(lo, hi, size=shape).astype(np.float32)


def f64(r, *shape, lo=-1.0, hi=1.0):
    return r.uniform(lo, hi, size=shape).astype(np.float64)


def i32(r, lo, hi, *shape):  # lo <= v < hi
    return r.integers(lo, hi, size=shape).astype(np.int32)


def sc(v):  # a scalar argument: 0-d float32 array
    return np.array(v, dtype=np.float32)


def D(x):  # float64 view for the reference computation
    return np.asarray(x, dtype=np.float64)


def F(x):  # expected float output
    return np.asarray(x, dtype=np.float32)


def sz(r, lo, hi):  # a size, lo <= v <= hi
    return int(r.integers(lo, hi + 1))


def conv2d_ref(I, W, stride=1, pad=0, dil=1):
    """Cross-correlation NCHW x FCKK; zero padding on both sides."""
    I, W = D(I), D(W)
    N, C, H, Wd = I.shape
    Fo, C2, KH, KW = W.shape
    assert C == C2
    Ip = np.pad(I, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH = (H + 2 * pad - dil * (KH - 1) - 1) // stride + 1
    OW = (Wd + 2 * pad - dil * (KW - 1) - 1) // stride + 1
    O = np.zeros((N, Fo, OH, OW))
    for kh in range(KH):
        for kw in range(KW):
            h0, w0 = kh * dil, kw * dil
            patch = Ip[:, :, h0:h0 + stride * (OH - 1) + 1:stride, w0:w0 + stride * (OW - 1) + 1:stride]
            O += np.einsum('nchw,fc->nfhw', patch, W[:, :, kh, kw])
    return O


def conv1d_ref(I, W, stride=1, dil=1):
    I4 = D(I)[:, :, None, :]
    W4 = D(W)[:, :, None, :]
    return conv2d_ref(I4, W4, stride=stride, dil=dil)[:, :, 0, :]


def pool_windows(I, k, stride, pad=0, fill=0.0):
    """Returns an array N, C, OH, OW, k*k of windows."""
    I = D(I)
    N, C, H, W = I.shape
    Ip = np.pad(I, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    OH = (H + 2 * pad - k) // stride + 1
    OW = (W + 2 * pad - k) // stride + 1
    wins = []
    for kh in range(k):
        for kw in range(k):
            wins.append(Ip[:, :, kh:kh + stride * (OH - 1) + 1:stride, kw:kw + stride * (OW - 1) + 1:stride])
    return np.stack(wins, axis=-1)


def c_div(a, b):  # C integer division: truncate toward zero
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def c_mod(a, b):
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    return a - b * c_div(a, b)


def c_round(x):  # C round(): halves away from zero
    x = D(x)
    return np.where(x >= 0, np.floor(x + 0.5), -np.floor(-x + 0.5))


verf = np.vectorize(math.erf, otypes=[np.float64])
verfc = np.vectorize(math.erfc, otypes=[np.float64])


def softmax_ref(X, axis=-1):
    X = D(X)
    e = np.exp(X - X.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------- matmul.tc

@case('matmul.tc', 'matmul')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B = f32(r, M, K), f32(r, K, N)
    return dict(A=A, B=B), dict(C=F(D(A) @ D(B)))


@case('matmul.tc', 'matmul_ta')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B = f32(r, K, M), f32(r, K, N)
    return dict(A=A, B=B), dict(C=F(D(A).T @ D(B)))


@case('matmul.tc', 'matmul_tb')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B = f32(r, M, K), f32(r, N, K)
    return dict(A=A, B=B), dict(C=F(D(A) @ D(B).T))


@case('matmul.tc', 'matmul_tab')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B = f32(r, K, M), f32(r, N, K)
    return dict(A=A, B=B), dict(C=F(D(A).T @ D(B).T))


@case('matmul.tc', 'matmul_alpha')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B = f32(r, M, K), f32(r, K, N)
    alpha = sc(r.uniform(-2, 2))
    return dict(A=A, B=B, alpha=alpha), dict(C=F(D(alpha) * (D(A) @ D(B))))


@case('matmul.tc', 'matmul_bias')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B, bias = f32(r, M, K), f32(r, K, N), f32(r, N)
    return dict(A=A, B=B, bias=bias), dict(C=F(D(A) @ D(B) + D(bias)[None, :]))


@case('matmul.tc', 'gemm')
def _(r):
    M, K, N = sz(r, 1, 12), sz(r, 1, 12), sz(r, 1, 12)
    A, B, Cin = f32(r, M, K), f32(r, K, N), f32(r, M, N)
    alpha, beta = sc(r.uniform(-2, 2)), sc(r.uniform(-2, 2))
    C = D(alpha) * (D(A) @ D(B)) + D(beta) * D(Cin)
    return dict(A=A, B=B, Cin=Cin, alpha=alpha, beta=beta), dict(C=F(C))


@case('matmul.tc', 'matvec')
def _(r):
    M, K = sz(r, 1, 16), sz(r, 1, 16)
    A, x = f32(r, M, K), f32(r, K)
    return dict(A=A, x=x), dict(y=F(D(A) @ D(x)))


@case('matmul.tc', 'dot')
def _(r):
    N = sz(r, 1, 40)
    a, b = f32(r, N), f32(r, N)
    return dict(a=a, b=b), dict(d=F([np.dot(D(a), D(b))]))


# ---------------------------------------------------------------- bmm.tc

@case('bmm.tc', 'bmm')
def _(r):
    B, M, K, N = sz(r, 1, 4), sz(r, 1, 8), sz(r, 1, 8), sz(r, 1, 8)
    X, Y = f32(r, B, M, K), f32(r, B, K, N)
    return dict(X=X, Y=Y), dict(Z=F(np.matmul(D(X), D(Y))))


@case('bmm.tc', 'bmm_shared')
def _(r):
    B, M, K, N = sz(r, 1, 4), sz(r, 1, 8), sz(r, 1, 8), sz(r, 1, 8)
    X, W = f32(r, B, M, K), f32(r, K, N)
    return dict(X=X, W=W), dict(Z=F(np.einsum('bmk,kn->bmn', D(X), D(W))))


@case('bmm.tc', 'bmm_tb')
def _(r):
    B, M, K, N = sz(r, 1, 4), sz(r, 1, 8), sz(r, 1, 8), sz(r, 1, 8)
    X, Y = f32(r, B, M, K), f32(r, B, N, K)
    return dict(X=X, Y=Y), dict(Z=F(np.matmul(D(X), D(Y).transpose(0, 2, 1))))


# ---------------------------------------------------------------- conv.tc

@case('conv.tc', 'conv1d')
def _(r):
    N, C, Fo, KL = sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 4), sz(r, 1, 4)
    L = KL + sz(r, 0, 10)
    I, W = f32(r, N, C, L), f32(r, Fo, C, KL)
    return dict(I=I, W=W), dict(O=F(conv1d_ref(I, W)))


@case('conv.tc', 'conv1d_s2d2')
def _(r):
    N, C, Fo, KL = sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 4), sz(r, 1, 3)
    L = 2 * (KL - 1) + 1 + sz(r, 0, 10)
    I, W = f32(r, N, C, L), f32(r, Fo, C, KL)
    O = conv1d_ref(I, W, stride=2, dil=2)
    assert O.shape[2] == (L - 2 * KL + 1) // 2 + 1
    return dict(I=I, W=W), dict(O=F(O))


@case('conv.tc', 'conv2d')
def _(r):
    N, C, Fo, KH, KW = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 3), sz(r, 1, 3)
    H, W = KH + sz(r, 0, 6), KW + sz(r, 0, 6)
    I, Wt = f32(r, N, C, H, W), f32(r, Fo, C, KH, KW)
    return dict(I=I, Wt=Wt), dict(O=F(conv2d_ref(I, Wt)))


@case('conv.tc', 'conv2d_s2')
def _(r):
    N, C, Fo, KH, KW = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 3), sz(r, 1, 3)
    H, W = KH + sz(r, 0, 7), KW + sz(r, 0, 7)
    I, Wt = f32(r, N, C, H, W), f32(r, Fo, C, KH, KW)
    return dict(I=I, Wt=Wt), dict(O=F(conv2d_ref(I, Wt, stride=2)))


@case('conv.tc', 'conv2d_bias_relu')
def _(r):
    N, C, Fo, KH, KW = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 3), sz(r, 1, 3)
    H, W = KH + sz(r, 0, 6), KW + sz(r, 0, 6)
    I, Wt, b = f32(r, N, C, H, W), f32(r, Fo, C, KH, KW), f32(r, Fo)
    O = np.maximum(conv2d_ref(I, Wt) + D(b)[None, :, None, None], 0.0)
    return dict(I=I, Wt=Wt, b=b), dict(O=F(O))


@case('conv.tc', 'conv2d_pad1')
def _(r):
    N, C, Fo, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 8), sz(r, 1, 8)
    I, Wt = f32(r, N, C, H, W), f32(r, Fo, C, 3, 3)
    return dict(I=I, Wt=Wt), dict(O=F(conv2d_ref(I, Wt, pad=1)))


@case('conv.tc', 'conv2d_pad1_s2')
def _(r):
    N, C, Fo, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 9), sz(r, 1, 9)
    I, Wt = f32(r, N, C, H, W), f32(r, Fo, C, 3, 3)
    O = conv2d_ref(I, Wt, stride=2, pad=1)
    assert O.shape[2:] == ((H + 1) // 2, (W + 1) // 2)
    return dict(I=I, Wt=Wt), dict(O=F(O))


@case('conv.tc', 'group_conv')
def _(r):
    N, G, C, Fo, KH, KW = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 3), sz(r, 1, 3), sz(r, 1, 3), sz(r, 1, 3)
    H, W = KH + sz(r, 0, 5), KW + sz(r, 0, 5)
    I, Wt = f32(r, N, G, C, H, W), f32(r, G, Fo, C, KH, KW)
    O = np.stack([conv2d_ref(I[:, g], Wt[g]) for g in range(G)], axis=1)
    return dict(I=I, Wt=Wt), dict(O=F(O))


@case('conv.tc', 'depthwise_conv')
def _(r):
    N, C, KH, KW = sz(r, 1, 2), sz(r, 1, 4), sz(r, 1, 3), sz(r, 1, 3)
    H, W = KH + sz(r, 0, 6), KW + sz(r, 0, 6)
    I, Wt = f32(r, N, C, H, W), f32(r, C, KH, KW)
    O = np.concatenate([conv2d_ref(I[:, c:c + 1], Wt[c:c + 1, None]) for c in range(C)], axis=1)
    return dict(I=I, Wt=Wt), dict(O=F(O))


# ---------------------------------------------------------------- pool.tc

@case('pool.tc', 'maxpool2')
def _(r):
    N, C, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 2, 9), sz(r, 2, 9)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(pool_windows(I, 2, 2).max(-1)))


@case('pool.tc', 'maxpool3s1')
def _(r):
    N, C, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 3, 9), sz(r, 3, 9)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(pool_windows(I, 3, 1).max(-1)))


@case('pool.tc', 'avgpool3')
def _(r):
    N, C, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 3, 11), sz(r, 3, 11)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(pool_windows(I, 3, 3).mean(-1)))


@case('pool.tc', 'avgpool3_pad')
def _(r):
    N, C, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 8), sz(r, 1, 8)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(pool_windows(I, 3, 1, pad=1).sum(-1) / 9.0))


@case('pool.tc', 'global_avgpool')
def _(r):
    N, C, H, W = sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 7), sz(r, 1, 7)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(D(I).mean(axis=(2, 3))))


# ---------------------------------------------------------------- softmax.tc

@case('softmax.tc', 'softmax')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 16)
    X = f32(r, N, Dd, lo=-4, hi=4)
    return dict(X=X), dict(Y=F(softmax_ref(X)))


@case('softmax.tc', 'log_softmax')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 16)
    X = f32(r, N, Dd, lo=-4, hi=4)
    return dict(X=X), dict(Y=F(np.log(softmax_ref(X))))


@case('softmax.tc', 'logsumexp')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 16)
    X = f32(r, N, Dd, lo=-4, hi=4)
    return dict(X=X), dict(Y=F(np.log(np.exp(D(X)).sum(-1))))


@case('softmax.tc', 'cross_entropy')
def _(r):
    N, C = sz(r, 1, 8), sz(r, 1, 10)
    X = f32(r, N, C, lo=-4, hi=4)
    L = i32(r, 0, C, N)
    loss = -np.log(softmax_ref(X)[np.arange(N), L])
    return dict(X=X, L=L), dict(loss=F(loss))


@case('softmax.tc', 'attention')
def _(r):
    B, T, S, Dd, E = sz(r, 1, 3), sz(r, 1, 6), sz(r, 1, 6), sz(r, 1, 8), sz(r, 1, 6)
    Q, K, V = f32(r, B, T, Dd), f32(r, B, S, Dd), f32(r, B, S, E)
    scale = sc(1.0 / math.sqrt(Dd))
    P = softmax_ref(D(scale) * np.einsum('btd,bsd->bts', D(Q), D(K)))
    O = np.einsum('bts,bse->bte', P, D(V))
    return dict(Q=Q, K=K, V=V, scale=scale), dict(O=F(O))


# ---------------------------------------------------------------- norm.tc

@case('norm.tc', 'layernorm')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 2, 16)
    X = f32(r, N, Dd, lo=-3, hi=3)
    gamma, beta = f32(r, Dd, lo=0.5, hi=1.5), f32(r, Dd)
    eps = sc(1e-5)
    x = D(X)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    Y = (x - mu) / np.sqrt(var + D(eps)) * D(gamma) + D(beta)
    return dict(X=X, gamma=gamma, beta=beta, eps=eps), dict(Y=F(Y))


@case('norm.tc', 'batchnorm')
def _(r):
    N, C, H, W = sz(r, 1, 3), sz(r, 1, 5), sz(r, 1, 5), sz(r, 1, 5)
    X = f32(r, N, C, H, W, lo=-3, hi=3)
    mean, var = f32(r, C), f32(r, C, lo=0.1, hi=2.0)
    gamma, beta = f32(r, C, lo=0.5, hi=1.5), f32(r, C)
    eps = sc(1e-3)
    b = (slice(None), None, None)
    Y = (D(X) - D(mean)[b]) / np.sqrt(D(var)[b] + D(eps)) * D(gamma)[b] + D(beta)[b]
    return dict(X=X, mean=mean, var=var, gamma=gamma, beta=beta, eps=eps), dict(Y=F(Y))


@case('norm.tc', 'rmsnorm')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 16)
    X, g = f32(r, N, Dd, lo=-3, hi=3), f32(r, Dd)
    x = D(X)
    Y = x * D(g) / np.sqrt((x * x).mean(-1, keepdims=True) + np.float64(np.float32(1e-6)))
    return dict(X=X, g=g), dict(Y=F(Y))


@case('norm.tc', 'instancenorm')
def _(r):
    N, C, H, W = sz(r, 1, 3), sz(r, 1, 4), sz(r, 2, 6), sz(r, 2, 6)
    X = f32(r, N, C, H, W, lo=-3, hi=3)
    x = D(X)
    m = x.mean(axis=(2, 3), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(2, 3), keepdims=True)
    Y = (x - m) / np.sqrt(v + np.float64(np.float32(1e-5)))
    return dict(X=X), dict(Y=F(Y))


# ---------------------------------------------------------------- reduce.tc

@case('reduce.tc', 'reduce_sum')
def _(r):
    M, N = sz(r, 1, 12), sz(r, 1, 20)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(D(A).sum(1)))


@case('reduce.tc', 'reduce_prod')
def _(r):
    M, N = sz(r, 1, 12), sz(r, 1, 12)
    A = f32(r, M, N, lo=0.6, hi=1.5) * np.where(r.random((M, N)) < 0.3, -1, 1).astype(np.float32)
    return dict(A=A), dict(O=F(D(A).prod(1)))


@case('reduce.tc', 'reduce_min')
def _(r):
    M, N = sz(r, 1, 12), sz(r, 1, 20)
    A = f32(r, M, N, lo=-100, hi=100)
    return dict(A=A), dict(O=F(A.min(1)))


@case('reduce.tc', 'reduce_max')
def _(r):
    M, N = sz(r, 1, 20), sz(r, 1, 12)
    A = f32(r, M, N, lo=-100, hi=-1)  # all negative: a 0 identity would show
    return dict(A=A), dict(O=F(A.max(0)))


@case('reduce.tc', 'reduce_accum')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A = f32(r, M, N, lo=0.6, hi=1.5)
    B = f32(r, M, lo=-2, hi=2)
    a, b = D(A), D(B)
    return dict(A=A, B=B), dict(S=F(b + a.sum(1)), P=F(b * a.prod(1)),
                                L=F(np.minimum(b, a.min(1))), U=F(np.maximum(b, a.max(1))))


@case('reduce.tc', 'reduce_mid')
def _(r):
    P, Q, R = sz(r, 1, 6), sz(r, 1, 8), sz(r, 1, 6)
    X = f32(r, P, Q, R)
    return dict(X=X), dict(O=F(D(X).sum(1)))


@case('reduce.tc', 'reduce_all')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F([D(A).sum()]))


@case('reduce.tc', 'reduce_vec')
def _(r):
    N = sz(r, 3000, 9000)
    A = f32(r, N)
    return dict(A=A), dict(O=F([D(A).sum()]))


@case('reduce.tc', 'rowsum_few')
def _(r):
    N = sz(r, 2000, 6000)
    A = f32(r, 2, N)
    return dict(A=A), dict(O=F(D(A).sum(1)))


@case('reduce.tc', 'rowmax_few')
def _(r):
    N = sz(r, 2000, 6000)
    A = f32(r, 3, N, lo=-100, hi=-1)  # all negative: a 0 identity would show
    return dict(A=A), dict(O=F(A.max(1)))


@case('reduce.tc', 'rowmin_few')
def _(r):
    N = sz(r, 1000, 50000)
    A = f32(r, 1, N, lo=1, hi=100)  # all positive: a 0 identity would show
    return dict(A=A), dict(O=F(A.min(1)))


@case('reduce.tc', 'rownorm_few')
def _(r):
    N = sz(r, 1000, 3000)
    X = f32(r, 2, N, lo=0.5, hi=1.5)  # positive: sums far from 0
    x = D(X)
    return dict(X=X), dict(Y=F(x / x.sum(1, keepdims=True)))


@case('reduce.tc', 'sumsq_big')
def _(r):
    N = sz(r, 60000, 90000)
    A = f32(r, N)
    return dict(A=A), dict(O=F([(D(A) * D(A)).sum()]))


@case('reduce.tc', 'rowmax_big')
def _(r):
    N = sz(r, 10000, 16000)
    A = f32(r, 3, N, lo=-100, hi=-1)  # all negative: a 0 identity would show
    return dict(A=A), dict(O=F(A.max(1)))


@case('reduce.tc', 'imin_few')
def _(r):
    N = sz(r, 3000, 9000)
    A = i32(r, 1, 1 << 30, 2, N)  # all positive: a 0 identity would show
    return dict(A=A), dict(O=A.min(1).astype(np.int32))


@case('reduce.tc', 'dsum_big')
def _(r):
    N = sz(r, 10000, 20000)
    A = f64(r, N)
    return dict(A=A), dict(O=np.asarray([A.sum()], dtype=np.float64))


@case('softmax.tc', 'softmax_row')
def _(r):
    Dd = sz(r, 1000, 5000)
    X = f32(r, 1, Dd, lo=-4, hi=4)
    return dict(X=X), dict(Y=F(softmax_ref(X)))


# ---------------------------------------------------------------- broadcast.tc

@case('broadcast.tc', 'add_row_bias')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A, b = f32(r, M, N), f32(r, N)
    return dict(A=A, b=b), dict(O=F(D(A) + D(b)[None, :]))


@case('broadcast.tc', 'add_col_bias')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A, b = f32(r, M, N), f32(r, M)
    return dict(A=A, b=b), dict(O=F(D(A) + D(b)[:, None]))


@case('broadcast.tc', 'outer')
def _(r):
    M, N = sz(r, 1, 12), sz(r, 1, 12)
    x, y = f32(r, M), f32(r, N)
    return dict(x=x, y=y), dict(O=F(np.outer(D(x), D(y))))


@case('broadcast.tc', 'bcast3')
def _(r):
    B, M, N = sz(r, 1, 4), sz(r, 1, 6), sz(r, 1, 6)
    A, P, s = f32(r, B, M, N), f32(r, M, N), f32(r, B)
    return dict(A=A, P=P, s=s), dict(O=F(D(A) * D(s)[:, None, None] + D(P)[None]))


@case('broadcast.tc', 'axpy')
def _(r):
    N = sz(r, 1, 30)
    alpha, X, Y = sc(r.uniform(-3, 3)), f32(r, N), f32(r, N)
    return dict(alpha=alpha, X=X, Y=Y), dict(Z=F(D(alpha) * D(X) + D(Y)))


# ---------------------------------------------------------------- transpose.tc

@case('transpose.tc', 'transpose2d')
def _(r):
    M, N = sz(r, 1, 12), sz(r, 1, 12)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(A.T))


@case('transpose.tc', 'permute3d')
def _(r):
    P, Q, R = sz(r, 1, 6), sz(r, 1, 6), sz(r, 1, 6)
    A = f32(r, P, Q, R)
    return dict(A=A), dict(O=F(A.transpose(2, 0, 1)))


@case('transpose.tc', 'reverse')
def _(r):
    N = sz(r, 1, 30)
    A = f32(r, N)
    return dict(A=A), dict(O=F(A[::-1]))


@case('transpose.tc', 'symmetrize')
def _(r):
    N = sz(r, 1, 10)
    A = f32(r, N, N)
    return dict(A=A), dict(O=F(0.5 * (D(A) + D(A).T)))


@case('transpose.tc', 'transpose_tile')
def _(r):
    M, N = sz(r, 33, 100), sz(r, 65, 130)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(A.T))


@case('transpose.tc', 'transpose_axpy')
def _(r):
    M, N = sz(r, 3, 31), sz(r, 40, 90)
    A, B, s = f32(r, M, N), f32(r, N, M), f32(r, N)
    return dict(A=A, B=B, s=s), dict(O=F(2.0 * D(A).T * D(s)[:, None] + D(B)))


@case('transpose.tc', 'transpose_batched')
def _(r):
    P, M, N = sz(r, 2, 4), sz(r, 20, 70), sz(r, 20, 70)
    A = f32(r, P, M, N)
    return dict(A=A), dict(O=F(D(A).transpose(0, 2, 1) - 1.0))


# ---------------------------------------------------------------- indirect.tc

@case('indirect.tc', 'embedding')
def _(r):
    V, R, B, N = sz(r, 1, 20), sz(r, 1, 8), sz(r, 1, 4), sz(r, 1, 6)
    LUT, I = f32(r, V, R), i32(r, 0, V, B, N)
    return dict(LUT=LUT, I=I), dict(O=F(LUT[I]))


@case('indirect.tc', 'embedding_bag')
def _(r):
    V, R, B, N = sz(r, 1, 20), sz(r, 1, 8), sz(r, 1, 4), sz(r, 1, 6)
    LUT, I = f32(r, V, R), i32(r, 0, V, B, N)
    return dict(LUT=LUT, I=I), dict(O=F(D(LUT)[I].sum(1)))


@case('indirect.tc', 'gather1d')
def _(r):
    N, M = sz(r, 1, 20), sz(r, 1, 20)
    X, idx = f32(r, N), i32(r, 0, N, M)
    return dict(X=X, idx=idx), dict(O=F(X[idx]))


@case('indirect.tc', 'gather_cols')
def _(r):
    M, N, K = sz(r, 1, 8), sz(r, 1, 10), sz(r, 1, 10)
    X, idx = f32(r, M, N), i32(r, 0, N, K)
    return dict(X=X, idx=idx), dict(O=F(X[:, idx]))


@case('indirect.tc', 'gather_nested')
def _(r):
    N, M = sz(r, 1, 16), sz(r, 1, 16)
    X, p, q = f32(r, N), i32(r, 0, N, M), i32(r, 0, N, N)
    return dict(X=X, p=p, q=q), dict(O=F(X[q[p]]))


# ---------------------------------------------------------------- scatter.tc

def conv_grad_input_ref(dY, W, stride):
    """The adjoint of a strided cross-correlation with respect to its input:
    each output position (oh, ow) scatters dY * W back onto its window."""
    dY, W = D(dY), D(W)
    N, Fo, OH, OW = dY.shape
    _, C, KH, KW = W.shape
    dX = np.zeros((N, C, stride * (OH - 1) + KH, stride * (OW - 1) + KW))
    for oh in range(OH):
        for ow in range(OW):
            h, w = stride * oh, stride * ow
            dX[:, :, h:h + KH, w:w + KW] += np.einsum('nf,fckl->nckl', dY[:, :, oh, ow], W)
    return dX


@case('scatter.tc', 'conv1d_s2_grad_input')
def _(r):
    N, Fo, L, C, K = sz(r, 1, 3), sz(r, 1, 4), sz(r, 1, 8), sz(r, 1, 4), sz(r, 1, 3)
    dY, W = f32(r, N, Fo, L), f32(r, Fo, C, K)
    dX = conv_grad_input_ref(dY[:, :, None, :], W[:, :, None, :], 2)[:, :, 0, :]
    return dict(dY=dY, W=W), dict(dX=F(dX))


@case('scatter.tc', 'conv2d_s2_grad_input')
def _(r):
    N, Fo, OH, OW, C, KH, KW = sz(r, 1, 2), sz(r, 1, 4), sz(r, 1, 5), sz(r, 1, 5), sz(r, 1, 3), sz(r, 1, 3), sz(r, 1, 3)
    dY, W = f32(r, N, Fo, OH, OW), f32(r, Fo, C, KH, KW)
    return dict(dY=dY, W=W), dict(dX=F(conv_grad_input_ref(dY, W, 2)))


@case('scatter.tc', 'histogram')
def _(r):
    B, N = sz(r, 1, 8), sz(r, 1, 40)
    H0, b, X = f32(r, B), i32(r, 0, B, N), f32(r, N)
    H = D(H0).copy()
    np.add.at(H, b, D(X))
    return dict(H0=H0, bin=b, X=X), dict(H=F(H))


@case('scatter.tc', 'embedding_grad')
def _(r):
    V, R, B, N = sz(r, 1, 12), sz(r, 1, 8), sz(r, 1, 4), sz(r, 1, 6)
    LUT, I, dO = f32(r, V, R), i32(r, 0, V, B, N), f32(r, B, N, R)
    dLUT = np.zeros((V, R))
    np.add.at(dLUT, I.reshape(-1), D(dO).reshape(-1, R))
    return dict(LUT=LUT, I=I, dO=dO), dict(dLUT=F(dLUT))


@case('scatter.tc', 'stack2')
def _(r):
    N = sz(r, 1, 20)
    X, Y = f32(r, N), f32(r, N)
    return dict(X=X, Y=Y), dict(O=F(np.stack([X, Y], axis=1)))


@case('scatter.tc', 'pair_sum')
def _(r):
    M = sz(r, 1, 12)
    N = sz(r, 1, 2 * M)
    Z, X = f32(r, M), f32(r, N)
    S = D(Z).copy()
    np.add.at(S, np.arange(N) // 2, D(X))
    return dict(Z=Z, X=X), dict(S=F(S))


@case('scatter.tc', 'scatter_perm')
def _(r):
    N = sz(r, 1, 20)
    X, perm = f32(r, N), r.permutation(N).astype(np.int32)
    P = np.zeros(N, dtype=np.float32)
    P[perm] = X
    return dict(X=X, perm=perm), dict(P=P)


# ---------------------------------------------------------------- elementwise.tc

@case('elementwise.tc', 'gelu')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 8)
    X = f32(r, N, Dd, lo=-4, hi=4)
    x = D(X)
    return dict(X=X), dict(Y=F(0.5 * x * (1 + verf(x / math.sqrt(2)))))


@case('elementwise.tc', 'gelu_tanh')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-4, hi=4)
    x = D(X)
    Y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return dict(X=X), dict(Y=F(Y))


@case('elementwise.tc', 'sigmoid_silu')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-8, hi=8)
    s = 1 / (1 + np.exp(-D(X)))
    return dict(X=X), dict(S=F(s), E=F(s), U=F(D(X) * s))


@case('elementwise.tc', 'tanh_exp')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-4, hi=4)
    return dict(X=X), dict(T=F(np.tanh(D(X))), E=F(np.exp(D(X))))


@case('elementwise.tc', 'sqrt_rsqrt')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-10, hi=10)
    a = np.abs(D(X))
    return dict(X=X), dict(S=F(np.sqrt(a)), R=F(1 / np.sqrt(a + 1)))


@case('elementwise.tc', 'pow_fabs')
def _(r):
    N = sz(r, 1, 40)
    X, Y = f32(r, N, lo=-3, hi=3), f32(r, N, lo=-2, hi=2)
    return dict(X=X, Y=Y), dict(P=F(np.power(np.abs(D(X)) + 0.5, D(Y))))


@case('elementwise.tc', 'fmax_fmin')
def _(r):
    N = sz(r, 1, 40)
    X, Y = f32(r, N), f32(r, N)
    return dict(X=X, Y=Y), dict(A=F(np.fmax(X, Y)), B=F(np.fmin(X, Y)))


@case('elementwise.tc', 'logs')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-5, hi=5)
    x = D(X)
    a = np.abs(x)
    a01 = D(np.float32(np.abs(X) + np.float32(0.1)))
    return dict(X=X), dict(L=F(np.log(a01)), L1=F(np.log1p(a)), L2=F(np.log2(a01)),
                           L10=F(np.log10(a01)), SP=F(np.log1p(np.exp(x))))


@case('elementwise.tc', 'rounding')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-10, hi=10)
    return dict(X=X), dict(F=F(np.floor(X)), C=F(np.ceil(X)), R=F(c_round(X)), T=F(np.trunc(X)))


@case('elementwise.tc', 'trig')
def _(r):
    N = sz(r, 1, 40)
    X, Y = f32(r, N, lo=-2, hi=2), f32(r, N, lo=-2, hi=2)
    x, y = D(X), D(Y)
    return dict(X=X, Y=Y), dict(S=F(np.sin(x)), C=F(np.cos(x)), T=F(np.tan(x * 0.5)), AT=F(np.arctan(x)),
                                AT2=F(np.arctan2(x, y)), SH=F(np.sinh(x) + np.cosh(x)))


@case('elementwise.tc', 'misc_math')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-4, hi=4)
    Y = f32(r, N, lo=0.5, hi=2.0) * np.where(r.random(N) < 0.5, -1, 1).astype(np.float32)
    x, y = D(X), D(Y)
    return dict(X=X, Y=Y), dict(FM=F(np.fmod(x, y)), CB=F(np.cbrt(x)), E2=F(np.exp2(x)), EM=F(np.expm1(x)),
                                EC=F(verfc(x)), MD=F(-x * y - x / y))


# ---------------------------------------------------------------- int.tc

@case('int.tc', 'imatmul')
def _(r):
    M, K, N = sz(r, 1, 10), sz(r, 1, 10), sz(r, 1, 10)
    A, B = i32(r, -50, 50, M, K), i32(r, -50, 50, K, N)
    return dict(A=A, B=B), dict(C=(A.astype(np.int64) @ B.astype(np.int64)).astype(np.int32))


@case('int.tc', 'iarith')
def _(r):
    N = sz(r, 1, 40)
    A = i32(r, -1000, 1000, N)
    B = (i32(r, 1, 20, N) * np.where(r.random(N) < 0.5, -1, 1)).astype(np.int32)
    return dict(A=A, B=B), dict(Q=c_div(A, B).astype(np.int32), R=c_mod(A, B).astype(np.int32),
                                S=(A.astype(np.int64) * 3 - B + 7).astype(np.int32))


@case('int.tc', 'iminmax')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A = i32(r, -1000, 1000, M, N)
    a = A.astype(np.int64)
    AB = np.abs(a) + np.maximum(a, 0) - np.minimum(a, 1)
    return dict(A=A), dict(MX=A.max(1), MN=A.min(1), AB=AB.astype(np.int32))


@case('int.tc', 'isum64')
def _(r):
    M, N = sz(r, 1, 8), sz(r, 4, 12)
    A = i32(r, 5000, 20000, M, N) * np.where(r.random((M, N)) < 0.2, -1, 1).astype(np.int32)
    S = (A.astype(np.int64) * 100000).sum(1)
    return dict(A=A), dict(S=S.astype(np.int64))


@case('int.tc', 'icompare')
def _(r):
    N = sz(r, 1, 40)
    A, B = i32(r, -5, 6, N), i32(r, -5, 6, N)
    a, b = A.astype(np.int64), B.astype(np.int64)
    cond = ((a < b) & (a != 0)) | (a == 2 * b)
    return dict(A=A, B=B), dict(O=np.where(cond, a - b, a + b).astype(np.int32))


@case('int.tc', 'small_ints')
def _(r):
    N = sz(r, 1, 40)
    A, B = i32(r, -128, 128, N), i32(r, 0, 256, N)
    a8, b8 = A.astype(np.int8), B.astype(np.uint8)
    S = (a8.astype(np.uint8) + b8) // np.uint8(2)  # uint8 arithmetic wraps
    T = a8.astype(np.int16) * b8.astype(np.int16) * np.int16(2)
    U = a8.astype(np.int64).astype(np.uint32) // np.uint32(3)
    return dict(A=A, B=B), dict(S=S.astype(np.uint8), T=T.astype(np.int16), U=U.astype(np.uint32))


@case('transpose.tc', 'reverse_dims6')
def _(r):
    shape = [sz(r, 1, 3) for _ in range(6)]
    X = f32(r, *shape)
    return dict(X=X), dict(O=F(2 * D(X).transpose(5, 4, 3, 2, 1, 0)))


@case('transpose.tc', 'trace_square')
def _(r):
    N = sz(r, 1, 12)
    A = f32(r, N, N)
    return dict(A=A), dict(O=F([np.trace(D(A) @ D(A))]))


# ---------------------------------------------------------------- double.tc

@case('double.tc', 'dmatmul')
def _(r):
    M, K, N = sz(r, 1, 10), sz(r, 1, 10), sz(r, 1, 10)
    A, B = f64(r, M, K), f64(r, K, N)
    return dict(A=A, B=B), dict(C=A @ B)


@case('double.tc', 'dsoftmax')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 16)
    X = f64(r, N, Dd, lo=-10, hi=10)
    return dict(X=X), dict(Y=softmax_ref(X))


@case('double.tc', 'mixed_prec')
def _(r):
    N = sz(r, 1, 30)
    X, Y = f32(r, N), f64(r, N)
    return dict(X=X, Y=Y), dict(Z=D(X) * Y + 0.1)


# ---------------------------------------------------------------- misc.tc

@case('misc.tc', 'sum_first4')
def _(r):
    M, N = sz(r, 1, 8), sz(r, 4, 10)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(D(A)[:, :4].sum(1)))


@case('misc.tc', 'diff')
def _(r):
    N = sz(r, 2, 30)
    A = f32(r, N)
    return dict(A=A), dict(O=F(np.diff(D(A))))


@case('misc.tc', 'window3')
def _(r):
    N = sz(r, 3, 30)
    A = D(f32(r, N))
    return dict(A=F(A)), dict(O=F(A[:-2] + A[1:-1] + A[2:]))


@case('misc.tc', 'shift_exists')
def _(r):
    N, M = sz(r, 3, 10), sz(r, 2, 10)
    A = f32(r, N, M)
    return dict(A=A), dict(O=F(A[:N - 2, :M - 1]))


@case('misc.tc', 'mean_tk')
def _(r):
    N, Dd = sz(r, 1, 8), sz(r, 1, 16)
    X = f32(r, N, Dd)
    return dict(X=X), dict(O=F(D(X).mean(1)))


@case('misc.tc', 'last_col_tk')
def _(r):
    N, Dd = sz(r, 1, 10), sz(r, 1, 10)
    X = f32(r, N, Dd)
    return dict(X=X), dict(O=F(X[:, -1]))


@case('misc.tc', 'relu_select')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    X = f32(r, M, N)
    return dict(X=X), dict(Y=F(np.where(X > 0, X, 0)))


@case('misc.tc', 'leaky_relu')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    X, slope = f32(r, M, N), sc(r.uniform(0.01, 0.3))
    return dict(X=X, slope=slope), dict(Y=F(np.where(X >= 0, D(X), D(slope) * D(X))))


@case('misc.tc', 'clamp')
def _(r):
    N = sz(r, 1, 40)
    X = f32(r, N, lo=-2, hi=2)
    lo, hi = sc(r.uniform(-1, 0)), sc(r.uniform(0, 1))
    return dict(X=X, lo=lo, hi=hi), dict(Y=F(np.clip(X, lo, hi)))


@case('misc.tc', 'casts')
def _(r):
    N = sz(r, 1, 40)
    X, I = f32(r, N, lo=-10, hi=10), i32(r, -100, 100, N)
    return dict(X=X, I=I), dict(F=F(I * 0.5 + D(X)), J=np.trunc(D(X) * 4).astype(np.int32),
                                D=D(X) * 3.0)


@case('misc.tc', 'index_math')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A = f32(r, M, N)
    i, j = np.meshgrid(np.arange(M), np.arange(N), indexing='ij')
    return dict(A=A), dict(O=F(D(A) + (i * 10 - j) + (i + j) % 3))


@case('misc.tc', 'causal_mask')
def _(r):
    N = sz(r, 1, 10)
    S = f32(r, N, N)
    return dict(S=S), dict(O=F(np.where(np.tril(np.ones((N, N), bool)), S, np.float32(-1e9))))


@case('misc.tc', 'upsample2')
def _(r):
    N, C, H, W = sz(r, 1, 2), sz(r, 1, 3), sz(r, 1, 5), sz(r, 1, 5)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(I.repeat(2, axis=2).repeat(2, axis=3)))


@case('misc.tc', 'laplacian')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A = f32(r, M, N)
    P = np.pad(D(A), 1)
    O = P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4 * D(A)
    return dict(A=A), dict(O=F(O))


# ---------------------------------------------------------------- mlp.tc

@case('mlp.tc', 'mlp2')
def _(r):
    B, IN, H, OUT = sz(r, 1, 4), sz(r, 1, 10), sz(r, 1, 10), sz(r, 1, 6)
    X, W1, b1 = f32(r, B, IN), f32(r, IN, H), f32(r, H)
    W2, b2 = f32(r, H, OUT), f32(r, OUT)
    a = np.maximum(D(X) @ D(W1) + D(b1), 0)
    return dict(X=X, W1=W1, b1=b1, W2=W2, b2=b2), dict(Y=F(a @ D(W2) + D(b2)))


@case('mlp.tc', 'glu')
def _(r):
    B, IN, H = sz(r, 1, 4), sz(r, 1, 10), sz(r, 1, 10)
    X, Wa, Wb = f32(r, B, IN), f32(r, IN, H), f32(r, IN, H)
    pa, pb = D(X) @ D(Wa), D(X) @ D(Wb)
    return dict(X=X, Wa=Wa, Wb=Wb), dict(Y=F(pa / (1 + np.exp(-pb))))


# ---------------------------------------------------------------- hazards.tc

@case('hazards.tc', 'rev_temp')
def _(r):
    N = sz(r, 1, 30)
    A = f32(r, N)
    T = 2 * D(A)
    return dict(A=A), dict(O=F(T[::-1] + T))


@case('hazards.tc', 'diff_temp')
def _(r):
    N = sz(r, 2, 30)
    A = f32(r, N)
    return dict(A=A), dict(O=F(np.diff(np.exp(D(A)))))


@case('hazards.tc', 'transpose_temp')
def _(r):
    N = sz(r, 1, 12)
    A = f32(r, N, N)
    T = 2 * D(A) + 1
    return dict(A=A), dict(O=F(T.T - T))


@case('hazards.tc', 'matmul_chain')
def _(r):
    M, K, L, N = sz(r, 1, 10), sz(r, 1, 10), sz(r, 1, 10), sz(r, 1, 10)
    A, B, C = f32(r, M, K), f32(r, K, L), f32(r, L, N)
    return dict(A=A, B=B, C=C), dict(O=F(D(A) @ D(B) @ D(C)))


@case('hazards.tc', 'output_reuse')
def _(r):
    N = sz(r, 2, 30)
    A = f32(r, N)
    O = D(A) ** 2
    return dict(A=A), dict(O=F(O - 1), P=F(O[:-1] + O[1:]))


@case('hazards.tc', 'stencil_of_sum')
def _(r):
    M, N = sz(r, 3, 12), sz(r, 1, 10)
    A = f32(r, M, N)
    S = D(A).sum(1)
    return dict(A=A), dict(O=F(S[:-2] + S[1:-1] + S[2:]))


@case('hazards.tc', 'normalize_total')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 10)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(D(A) / (np.abs(D(A)).sum() + 1)))


@case('hazards.tc', 'cond_reduce')
def _(r):
    M, N = sz(r, 1, 10), sz(r, 1, 12)
    A = (i32(r, -4, 5, M, N) / 4).astype(np.float32)  # ties for the argmax
    return dict(A=A), dict(P=F(np.where(A > 0, D(A), 0).sum(1)), C=(A > 0.5).sum(1).astype(np.int32),
                           AM=A.argmax(1).astype(np.int32))


@case('hazards.tc', 'roll')
def _(r):
    N = sz(r, 1, 30)
    A = f32(r, N)
    return dict(A=A), dict(O=F(np.roll(A, -1)))


@case('hazards.tc', 'crop_tk')
def _(r):
    M, N = sz(r, 3, 12), sz(r, 3, 12)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(A[1:-1, 1:-1]))


# ---------------------------------------------------------------- larger sizes
# The same entries with sizes past small tile sizes (case id ENTRY@big).

@case('matmul.tc', 'matmul@big')
def _(r):
    M, K, N = sz(r, 33, 70), sz(r, 33, 70), sz(r, 33, 70)
    A, B = f32(r, M, K), f32(r, K, N)
    return dict(A=A, B=B), dict(C=F(D(A) @ D(B)))


@case('matmul.tc', 'matmul_tb@big')
def _(r):
    M, K, N = sz(r, 33, 70), sz(r, 33, 70), sz(r, 33, 70)
    A, B = f32(r, M, K), f32(r, N, K)
    return dict(A=A, B=B), dict(C=F(D(A) @ D(B).T))


@case('bmm.tc', 'bmm@big')
def _(r):
    B, M, K, N = sz(r, 2, 3), sz(r, 17, 40), sz(r, 17, 40), sz(r, 17, 40)
    X, Y = f32(r, B, M, K), f32(r, B, K, N)
    return dict(X=X, Y=Y), dict(Z=F(np.matmul(D(X), D(Y))))


@case('conv.tc', 'conv2d@big')
def _(r):
    N, C, Fo, KH, KW = 1, sz(r, 3, 8), sz(r, 8, 16), 3, 3
    H, W = sz(r, 20, 36), sz(r, 20, 36)
    I, Wt = f32(r, N, C, H, W), f32(r, Fo, C, KH, KW)
    return dict(I=I, Wt=Wt), dict(O=F(conv2d_ref(I, Wt)))


@case('conv.tc', 'conv2d_pad1_s2@big')
def _(r):
    N, C, Fo, H, W = 1, sz(r, 3, 8), sz(r, 8, 16), sz(r, 20, 40), sz(r, 20, 40)
    I, Wt = f32(r, N, C, H, W), f32(r, Fo, C, 3, 3)
    return dict(I=I, Wt=Wt), dict(O=F(conv2d_ref(I, Wt, stride=2, pad=1)))


@case('softmax.tc', 'softmax@big')
def _(r):
    N, Dd = sz(r, 20, 64), sz(r, 100, 300)
    X = f32(r, N, Dd, lo=-4, hi=4)
    return dict(X=X), dict(Y=F(softmax_ref(X)))


@case('norm.tc', 'layernorm@big')
def _(r):
    N, Dd = sz(r, 20, 64), sz(r, 64, 200)
    X = f32(r, N, Dd, lo=-3, hi=3)
    gamma, beta = f32(r, Dd, lo=0.5, hi=1.5), f32(r, Dd)
    eps = sc(1e-5)
    x = D(X)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    Y = (x - mu) / np.sqrt(var + D(eps)) * D(gamma) + D(beta)
    return dict(X=X, gamma=gamma, beta=beta, eps=eps), dict(Y=F(Y))


@case('transpose.tc', 'transpose2d@big')
def _(r):
    M, N = sz(r, 40, 130), sz(r, 40, 130)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(A.T))


@case('reduce.tc', 'reduce_sum@big')
def _(r):
    M, N = sz(r, 20, 70), sz(r, 100, 400)
    A = f32(r, M, N)
    return dict(A=A), dict(O=F(D(A).sum(1)))


@case('pool.tc', 'maxpool2@big')
def _(r):
    N, C, H, W = 1, sz(r, 4, 8), sz(r, 30, 64), sz(r, 30, 64)
    I = f32(r, N, C, H, W)
    return dict(I=I), dict(O=F(pool_windows(I, 2, 2).max(-1)))


@case('int.tc', 'imatmul@big')
def _(r):
    M, K, N = sz(r, 33, 60), sz(r, 33, 60), sz(r, 33, 60)
    A, B = i32(r, -50, 50, M, K), i32(r, -50, 50, K, N)
    return dict(A=A, B=B), dict(C=(A.astype(np.int64) @ B.astype(np.int64)).astype(np.int32))


# ---------------------------------------------------------------- random specs
#
# For the e2e pass that compares compiled code with the reference interpreter
# on fresh random sizes (tests/e2e/npyrand.c draws them), each entry also has a
# spec written to random.txt:
#
#     FILE ENTRY SIZE=LO:HI ... : INPUT=TYPE[DIMS](LO,HI[,pm]) ... -> OUTPUTS
#
# Sizes are drawn in order, LO and HI inclusive, both expressions (integers,
# earlier sizes, + - * and parentheses, no spaces). TYPE is f4 f8 i4 i8; DIMS
# are expressions (empty for a scalar). Floats are uniform in [LO, HI]
# (default -1, 1); integers uniform in [LO, HI) with LO and HI expressions
# (default -10, 10); pm flips the sign of each element with probability 1/2.
# main() checks that every fixture is one of the draws its spec allows.

SPECS = {
    'matmul': 'M=1:12 K=1:12 N=1:12 : A=f4[M,K] B=f4[K,N]',
    'matmul_ta': 'M=1:12 K=1:12 N=1:12 : A=f4[K,M] B=f4[K,N]',
    'matmul_tb': 'M=1:12 K=1:12 N=1:12 : A=f4[M,K] B=f4[N,K]',
    'matmul_tab': 'M=1:12 K=1:12 N=1:12 : A=f4[K,M] B=f4[N,K]',
    'matmul_alpha': 'M=1:12 K=1:12 N=1:12 : A=f4[M,K] B=f4[K,N] alpha=f4[](-2,2)',
    'matmul_bias': 'M=1:12 K=1:12 N=1:12 : A=f4[M,K] B=f4[K,N] bias=f4[N]',
    'gemm': 'M=1:12 K=1:12 N=1:12 : A=f4[M,K] B=f4[K,N] Cin=f4[M,N] alpha=f4[](-2,2) beta=f4[](-2,2)',
    'matvec': 'M=1:16 K=1:16 : A=f4[M,K] x=f4[K]',
    'dot': 'N=1:40 : a=f4[N] b=f4[N]',
    'bmm': 'B=1:4 M=1:8 K=1:8 N=1:8 : X=f4[B,M,K] Y=f4[B,K,N]',
    'bmm_shared': 'B=1:4 M=1:8 K=1:8 N=1:8 : X=f4[B,M,K] W=f4[K,N]',
    'bmm_tb': 'B=1:4 M=1:8 K=1:8 N=1:8 : X=f4[B,M,K] Y=f4[B,N,K]',
    'conv1d': 'N=1:3 C=1:4 F=1:4 KL=1:4 L=KL:KL+10 : I=f4[N,C,L] W=f4[F,C,KL]',
    'conv1d_s2d2': 'N=1:3 C=1:4 F=1:4 KL=1:3 L=2*KL-1:2*KL+9 : I=f4[N,C,L] W=f4[F,C,KL]',
    'conv2d': 'N=1:2 C=1:3 F=1:4 KH=1:3 KW=1:3 H=KH:KH+6 W=KW:KW+6 : I=f4[N,C,H,W] Wt=f4[F,C,KH,KW]',
    'conv2d_s2': 'N=1:2 C=1:3 F=1:4 KH=1:3 KW=1:3 H=KH:KH+7 W=KW:KW+7 : I=f4[N,C,H,W] Wt=f4[F,C,KH,KW]',
    'conv2d_bias_relu': 'N=1:2 C=1:3 F=1:4 KH=1:3 KW=1:3 H=KH:KH+6 W=KW:KW+6 : I=f4[N,C,H,W] Wt=f4[F,C,KH,KW] b=f4[F]',
    'conv2d_pad1': 'N=1:2 C=1:3 F=1:4 H=1:8 W=1:8 : I=f4[N,C,H,W] Wt=f4[F,C,3,3]',
    'conv2d_pad1_s2': 'N=1:2 C=1:3 F=1:4 H=1:9 W=1:9 : I=f4[N,C,H,W] Wt=f4[F,C,3,3]',
    'group_conv': 'N=1:2 G=1:3 C=1:3 F=1:3 KH=1:3 KW=1:3 H=KH:KH+5 W=KW:KW+5 : I=f4[N,G,C,H,W] Wt=f4[G,F,C,KH,KW]',
    'depthwise_conv': 'N=1:2 C=1:4 KH=1:3 KW=1:3 H=KH:KH+6 W=KW:KW+6 : I=f4[N,C,H,W] Wt=f4[C,KH,KW]',
    'maxpool2': 'N=1:2 C=1:3 H=2:9 W=2:9 : I=f4[N,C,H,W]',
    'maxpool3s1': 'N=1:2 C=1:3 H=3:9 W=3:9 : I=f4[N,C,H,W]',
    'avgpool3': 'N=1:2 C=1:3 H=3:11 W=3:11 : I=f4[N,C,H,W]',
    'avgpool3_pad': 'N=1:2 C=1:3 H=1:8 W=1:8 : I=f4[N,C,H,W]',
    'global_avgpool': 'N=1:3 C=1:4 H=1:7 W=1:7 : I=f4[N,C,H,W]',
    'softmax': 'N=1:8 D=1:16 : X=f4[N,D](-4,4)',
    'log_softmax': 'N=1:8 D=1:16 : X=f4[N,D](-4,4)',
    'logsumexp': 'N=1:8 D=1:16 : X=f4[N,D](-4,4)',
    'cross_entropy': 'N=1:8 C=1:10 : X=f4[N,C](-4,4) L=i4[N](0,C)',
    'attention': 'B=1:3 T=1:6 S=1:6 D=1:8 E=1:6 : Q=f4[B,T,D] K=f4[B,S,D] V=f4[B,S,E] scale=f4[](0.3,1)',
    'layernorm': 'N=1:8 D=2:16 : X=f4[N,D](-3,3) gamma=f4[D](0.5,1.5) beta=f4[D] eps=f4[](1e-5,1e-4)',
    'batchnorm': 'N=1:3 C=1:5 H=1:5 W=1:5 : X=f4[N,C,H,W](-3,3) mean=f4[C] var=f4[C](0.1,2) '
                 'gamma=f4[C](0.5,1.5) beta=f4[C] eps=f4[](1e-5,1e-2)',
    'rmsnorm': 'N=1:8 D=1:16 : X=f4[N,D](-3,3) g=f4[D]',
    'instancenorm': 'N=1:3 C=1:4 H=2:6 W=2:6 : X=f4[N,C,H,W](-3,3)',
    'reduce_sum': 'M=1:12 N=1:20 : A=f4[M,N]',
    'reduce_prod': 'M=1:12 N=1:12 : A=f4[M,N](0.6,1.5,pm)',
    'reduce_min': 'M=1:12 N=1:20 : A=f4[M,N](-100,100)',
    'reduce_max': 'M=1:20 N=1:12 : A=f4[M,N](-100,-1)',
    'reduce_accum': 'M=1:10 N=1:10 : A=f4[M,N](0.6,1.5) B=f4[M](-2,2)',
    'reduce_mid': 'P=1:6 Q=1:8 R=1:6 : X=f4[P,Q,R]',
    'reduce_all': 'M=1:10 N=1:10 : A=f4[M,N]',
    'reduce_vec': 'N=3000:9000 : A=f4[N]',
    'rowsum_few': 'N=2000:6000 : A=f4[2,N]',
    'rowmax_few': 'N=2000:6000 : A=f4[3,N](-100,-1)',
    'rowmin_few': 'N=1000:50000 : A=f4[1,N](1,100)',
    'softmax_row': 'D=1000:5000 : X=f4[1,D](-4,4)',
    'rownorm_few': 'N=1000:3000 : X=f4[2,N](0.5,1.5)',
    'sumsq_big': 'N=60000:90000 : A=f4[N]',
    'rowmax_big': 'N=10000:16000 : A=f4[3,N](-100,-1)',
    'imin_few': 'N=3000:9000 : A=i4[2,N](1,1073741824)',
    'dsum_big': 'N=10000:20000 : A=f8[N]',
    'add_row_bias': 'M=1:10 N=1:10 : A=f4[M,N] b=f4[N]',
    'add_col_bias': 'M=1:10 N=1:10 : A=f4[M,N] b=f4[M]',
    'outer': 'M=1:12 N=1:12 : x=f4[M] y=f4[N]',
    'bcast3': 'B=1:4 M=1:6 N=1:6 : A=f4[B,M,N] P=f4[M,N] s=f4[B]',
    'axpy': 'N=1:30 : alpha=f4[](-3,3) X=f4[N] Y=f4[N]',
    'transpose2d': 'M=1:12 N=1:12 : A=f4[M,N]',
    'permute3d': 'P=1:6 Q=1:6 R=1:6 : A=f4[P,Q,R]',
    'reverse': 'N=1:30 : A=f4[N]',
    'symmetrize': 'N=1:10 : A=f4[N,N]',
    'transpose_tile': 'M=33:100 N=65:130 : A=f4[M,N]',
    'transpose_axpy': 'M=3:31 N=40:90 : A=f4[M,N] B=f4[N,M] s=f4[N]',
    'transpose_batched': 'P=2:4 M=20:70 N=20:70 : A=f4[P,M,N]',
    'embedding': 'V=1:20 R=1:8 B=1:4 N=1:6 : LUT=f4[V,R] I=i4[B,N](0,V)',
    'embedding_bag': 'V=1:20 R=1:8 B=1:4 N=1:6 : LUT=f4[V,R] I=i4[B,N](0,V)',
    'gather1d': 'N=1:20 M=1:20 : X=f4[N] idx=i4[M](0,N)',
    'gather_cols': 'M=1:8 N=1:10 K=1:10 : X=f4[M,N] idx=i4[K](0,N)',
    'gather_nested': 'N=1:16 M=1:16 : X=f4[N] p=i4[M](0,N) q=i4[N](0,N)',
    'conv1d_s2_grad_input': 'N=1:3 F=1:4 L=1:8 C=1:4 K=1:3 : dY=f4[N,F,L] W=f4[F,C,K]',
    'conv2d_s2_grad_input': 'N=1:2 F=1:4 OH=1:5 OW=1:5 C=1:3 KH=1:3 KW=1:3 : dY=f4[N,F,OH,OW] W=f4[F,C,KH,KW]',
    'histogram': 'B=1:8 N=1:40 : H0=f4[B] bin=i4[N](0,B) X=f4[N]',
    'embedding_grad': 'V=1:12 R=1:8 B=1:4 N=1:6 : LUT=f4[V,R] I=i4[B,N](0,V) dO=f4[B,N,R]',
    'stack2': 'N=1:20 : X=f4[N] Y=f4[N]',
    'pair_sum': 'M=1:12 N=1:2*M : Z=f4[M] X=f4[N]',
    'scatter_perm': 'N=1:20 : X=f4[N] perm=i4[N](0,N)',
    'gelu': 'N=1:8 D=1:8 : X=f4[N,D](-4,4)',
    'gelu_tanh': 'N=1:40 : X=f4[N](-4,4)',
    'sigmoid_silu': 'N=1:40 : X=f4[N](-8,8)',
    'tanh_exp': 'N=1:40 : X=f4[N](-4,4)',
    'sqrt_rsqrt': 'N=1:40 : X=f4[N](-10,10)',
    'pow_fabs': 'N=1:40 : X=f4[N](-3,3) Y=f4[N](-2,2)',
    'fmax_fmin': 'N=1:40 : X=f4[N] Y=f4[N]',
    'logs': 'N=1:40 : X=f4[N](-5,5)',
    'rounding': 'N=1:40 : X=f4[N](-10,10)',
    'trig': 'N=1:40 : X=f4[N](-2,2) Y=f4[N](-2,2)',
    'misc_math': 'N=1:40 : X=f4[N](-4,4) Y=f4[N](0.5,2,pm)',
    'imatmul': 'M=1:10 K=1:10 N=1:10 : A=i4[M,K](-50,50) B=i4[K,N](-50,50)',
    'iarith': 'N=1:40 : A=i4[N](-1000,1000) B=i4[N](1,20,pm)',
    'iminmax': 'M=1:10 N=1:10 : A=i4[M,N](-1000,1000)',
    'isum64': 'M=1:8 N=4:12 : A=i4[M,N](5000,20000,pm)',
    'icompare': 'N=1:40 : A=i4[N](-5,6) B=i4[N](-5,6)',
    'dmatmul': 'M=1:10 K=1:10 N=1:10 : A=f8[M,K] B=f8[K,N]',
    'dsoftmax': 'N=1:8 D=1:16 : X=f8[N,D](-10,10)',
    'mixed_prec': 'N=1:30 : X=f4[N] Y=f8[N]',
    'sum_first4': 'M=1:8 N=4:10 : A=f4[M,N]',
    'diff': 'N=2:30 : A=f4[N]',
    'window3': 'N=3:30 : A=f4[N]',
    'shift_exists': 'N=3:10 M=2:10 : A=f4[N,M]',
    'mean_tk': 'N=1:8 D=1:16 : X=f4[N,D]',
    'last_col_tk': 'N=1:10 D=1:10 : X=f4[N,D]',
    'relu_select': 'M=1:10 N=1:10 : X=f4[M,N]',
    'leaky_relu': 'M=1:10 N=1:10 : X=f4[M,N] slope=f4[](0.01,0.3)',
    'clamp': 'N=1:40 : X=f4[N](-2,2) lo=f4[](-1,0) hi=f4[](0,1)',
    'casts': 'N=1:40 : X=f4[N](-10,10) I=i4[N](-100,100)',
    'index_math': 'M=1:10 N=1:10 : A=f4[M,N]',
    'causal_mask': 'N=1:10 : S=f4[N,N]',
    'upsample2': 'N=1:2 C=1:3 H=1:5 W=1:5 : I=f4[N,C,H,W]',
    'laplacian': 'M=1:10 N=1:10 : A=f4[M,N]',
    'mlp2': 'B=1:4 IN=1:10 H=1:10 OUT=1:6 : X=f4[B,IN] W1=f4[IN,H] b1=f4[H] W2=f4[H,OUT] b2=f4[OUT]',
    'glu': 'B=1:4 IN=1:10 H=1:10 : X=f4[B,IN] Wa=f4[IN,H] Wb=f4[IN,H]',
    'small_ints': 'N=1:40 : A=i4[N](-128,128) B=i4[N](0,256)',
    'reverse_dims6': 'P=1:3 Q=1:3 R=1:3 S=1:3 T=1:3 U=1:3 : X=f4[P,Q,R,S,T,U]',
    'trace_square': 'N=1:12 : A=f4[N,N]',
    'rev_temp': 'N=1:30 : A=f4[N]',
    'diff_temp': 'N=2:30 : A=f4[N]',
    'transpose_temp': 'N=1:12 : A=f4[N,N]',
    'matmul_chain': 'M=1:10 K=1:10 L=1:10 N=1:10 : A=f4[M,K] B=f4[K,L] C=f4[L,N]',
    'output_reuse': 'N=2:30 : A=f4[N]',
    'stencil_of_sum': 'M=3:12 N=1:10 : A=f4[M,N]',
    'normalize_total': 'M=1:10 N=1:10 : A=f4[M,N]',
    'cond_reduce': 'M=1:10 N=1:12 : A=f4[M,N]',
    'roll': 'N=1:30 : A=f4[N]',
    'crop_tk': 'M=3:12 N=3:12 : A=f4[M,N]',
    'matmul@big': 'M=33:70 K=33:70 N=33:70 : A=f4[M,K] B=f4[K,N]',
    'matmul_tb@big': 'M=33:70 K=33:70 N=33:70 : A=f4[M,K] B=f4[N,K]',
    'bmm@big': 'B=2:3 M=17:40 K=17:40 N=17:40 : X=f4[B,M,K] Y=f4[B,K,N]',
    'conv2d@big': 'N=1:1 C=3:8 F=8:16 KH=3:3 KW=3:3 H=20:36 W=20:36 : I=f4[N,C,H,W] Wt=f4[F,C,KH,KW]',
    'conv2d_pad1_s2@big': 'N=1:1 C=3:8 F=8:16 H=20:40 W=20:40 : I=f4[N,C,H,W] Wt=f4[F,C,3,3]',
    'softmax@big': 'N=20:64 D=100:300 : X=f4[N,D](-4,4)',
    'layernorm@big': 'N=20:64 D=64:200 : X=f4[N,D](-3,3) gamma=f4[D](0.5,1.5) beta=f4[D] eps=f4[](1e-5,1e-4)',
    'transpose2d@big': 'M=40:130 N=40:130 : A=f4[M,N]',
    'reduce_sum@big': 'M=20:70 N=100:400 : A=f4[M,N]',
    'maxpool2@big': 'N=1:1 C=4:8 H=30:64 W=30:64 : I=f4[N,C,H,W]',
    'imatmul@big': 'M=33:60 K=33:60 N=33:60 : A=i4[M,K](-50,50) B=i4[K,N](-50,50)',
}

import re

DTYPES = {'f4': np.float32, 'f8': np.float64, 'i4': np.int32, 'i8': np.int64}


def eval_size(e, env):
    if not re.fullmatch(r'[A-Za-z0-9_+\-*()]+', e):
        raise ValueError('bad size expression %r' % e)
    return int(eval(e, {'__builtins__': {}}, dict(env)))


def parse_spec(spec):
    left, right = spec.split(' : ')
    sizes = [tok.split('=', 1) for tok in left.split()]
    sizes = [(n, rng.split(':')) for n, rng in sizes]
    inputs = []
    for tok in right.split():
        m = re.fullmatch(r'(\w+)=(f4|f8|i4|i8)\[([^\]]*)\](?:\(([^)]*)\))?', tok)
        if not m:
            raise ValueError('bad input %r' % tok)
        name, ty, dims, rng = m.groups()
        dims = [d for d in dims.split(',') if d]
        rng = rng.split(',') if rng else []
        pm = len(rng) == 3 and rng[2] == 'pm'
        inputs.append((name, ty, dims, rng[:2], pm))
    return sizes, inputs


def check_spec(entry, spec, ins):
    """The fixture inputs must be one draw the spec allows."""
    sizes, inputs = parse_spec(spec)
    assert [i[0] for i in inputs] == list(ins), (entry, 'inputs differ from the spec')
    names = [n for n, _ in sizes]
    env = {}
    for name, ty, dims, rng, pm in inputs:
        a = ins[name]
        assert a.dtype == DTYPES[ty], (entry, name, a.dtype)
        assert a.ndim == len(dims), (entry, name, a.shape)
        for d, v in zip(dims, a.shape):
            if d in names:
                assert env.setdefault(d, v) == v, (entry, name, d)
    assert set(env) == set(names), (entry, 'sizes not bound by inputs', set(names) - set(env))
    for n, (lo, hi) in sizes:
        assert eval_size(lo, env) <= env[n] <= eval_size(hi, env), (entry, n, env[n], lo, hi)
    for name, ty, dims, rng, pm in inputs:
        a = ins[name]
        assert list(a.shape) == [eval_size(d, env) for d in dims], (entry, name)
        v = np.abs(a) if pm else a
        if ty[0] == 'f':
            lo, hi = (float(rng[0]), float(rng[1])) if rng else (-1.0, 1.0)
            assert np.all((v >= np.float32(lo) if ty == 'f4' else v >= lo)) and np.all(v <= hi), (entry, name)
        else:
            lo, hi = (eval_size(rng[0], env), eval_size(rng[1], env)) if rng else (-10, 10)
            assert np.all(v >= lo) and np.all(v < hi), (entry, name)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=20240601)
    ap.add_argument('--out', default=HERE)
    args = ap.parse_args()

    fix = os.path.join(args.out, 'fixtures')
    if os.path.isdir(fix):
        shutil.rmtree(fix)
    os.makedirs(fix)
    seen = set()
    lines = ['# Generated by gen_fixtures.py (seed %d); do not edit.' % args.seed,
             '# FILE CASE inputs... -> outputs...   (FILE relative to tests/kernels; CASE is',
             '# the entry, or ENTRY@VARIANT for other sizes of the same entry; inputs are',
             '# fixtures/CASE/NAME.npy, expected outputs fixtures/CASE/expected_NAME.npy)']
    rlines = ['# Generated by gen_fixtures.py from SPECS; do not edit.',
              '# FILE ENTRY SIZE=LO:HI ... : INPUT=TYPE[DIMS](LO,HI[,pm]) ... -> OUTPUTS',
              '# (see SPECS in gen_fixtures.py; drawn by tests/e2e/npyrand.c)']
    total = 0
    assert set(SPECS) == set(e for _, e, _ in CASES), set(SPECS) ^ set(e for _, e, _ in CASES)
    for file, entry, fn in CASES:
        assert entry not in seen, entry
        seen.add(entry)
        assert os.path.exists(os.path.join(HERE, file)), file
        assert '@' not in entry or entry.split('@')[0] in [e for _, e, _ in CASES], entry
        r = np.random.default_rng([args.seed, zlib.crc32(entry.encode())])
        ins, outs = fn(r)
        d = os.path.join(fix, entry)
        os.makedirs(d)
        for name, a in ins.items():
            a = np.ascontiguousarray(a)
            assert a.dtype in (np.float32, np.float64, np.int32, np.int64), (entry, name, a.dtype)
            np.save(os.path.join(d, name + '.npy'), a)
            total += os.path.getsize(os.path.join(d, name + '.npy'))
        for name, a in outs.items():
            a = np.ascontiguousarray(a)
            assert a.dtype in (np.float32, np.float64, np.int32, np.int64, np.int8, np.uint8, np.int16,
                               np.uint16, np.uint32, np.uint64), (entry, name, a.dtype)
            assert np.all(np.isfinite(a)), (entry, name)
            np.save(os.path.join(d, 'expected_' + name + '.npy'), a)
            total += os.path.getsize(os.path.join(d, 'expected_' + name + '.npy'))
        lines.append('%s %s %s -> %s' % (file, entry, ' '.join(ins), ' '.join(outs)))
        check_spec(entry, SPECS[entry], ins)
        rlines.append('%s %s %s -> %s' % (file, entry, SPECS[entry], ' '.join(outs)))
    with open(os.path.join(args.out, 'manifest.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(os.path.join(args.out, 'random.txt'), 'w') as f:
        f.write('\n'.join(rlines) + '\n')
    print('%d cases, %d bytes of fixtures' % (len(CASES), total))


if __name__ == '__main__':
    main()
