#!/usr/bin/env python3
"""Rounding error of 3-D Winograd convolutions in float32, against float64: F(2x2x2, 3x3x3) as
src/kernels/winograd_conv3d.cpp computes it, and F(4x4x4, 3x3x3) with the usual interpolation points
and with better ones, beside the direct float32 sum as the baseline. It answers how much accuracy the
larger tiles (2.4x fewer products, 2.4x less transformed data per output) would cost. Needs numpy
(Debian's python3-numpy); runs in about ten seconds.

  /usr/bin/python3 bench/winograd_error.py

Each case: T output tiles of a 3x3x3 correlation over 96 input channels (inputs uniform in [0, 1), as
after the network's first activations, and centred), He-initialised float32 weights; the transforms,
the per-position products summed over channels and the inverse transform all rounded to float32;
max |error| and RMS error relative to max |output| and RMS output of the float64 direct correlation.
"""
import itertools
from fractions import Fraction

import numpy as np


def toom_cook(points, m, r=3):
    """Exact A^T (m x a), G (a x r), B^T (a x a) of F(m, r) for the finite points plus infinity."""
    a = m + r - 1
    at = [[Fraction(0)] * a for _ in range(m)]
    g = [[Fraction(0)] * r for _ in range(a)]
    for i, p in enumerate(points):
        f = Fraction(1)
        for q in points:
            if q != p:
                f *= p - q
        for j in range(m):
            at[j][i] = p**j
        for k in range(r):
            g[i][k] = p**k / f
    at[m - 1][a - 1] = Fraction(1)
    g[a - 1][r - 1] = Fraction(1)
    # B^T from y_j = sum_i AT[j][i] (G g)_i (B^T d)_i = sum_k d[j + k] g[k] for every basis d and g:
    # linear in B^T's entries; solved exactly (Gauss-Jordan on the normal equations).
    n = a * a
    rows, rhs = [], []
    for e, f in itertools.product(range(a), range(r)):
        for j in range(m):
            row = [Fraction(0)] * n
            for i in range(a):
                row[i * a + e] = at[j][i] * g[i][f]
            rows.append(row)
            rhs.append(Fraction(1 if e - j == f else 0))
    mat = [[sum(rw[i] * rw[j] for rw in rows) for j in range(n)] + [sum(rw[i] * b for rw, b in zip(rows, rhs))]
           for i in range(n)]
    pivots, top = [], 0
    for c in range(n):
        p = next((i for i in range(top, n) if mat[i][c] != 0), None)
        if p is None:
            continue
        mat[top], mat[p] = mat[p], mat[top]
        mat[top] = [x / mat[top][c] for x in mat[top]]
        for i in range(n):
            if i != top and mat[i][c] != 0:
                factor = mat[i][c]
                mat[i] = [x - factor * y for x, y in zip(mat[i], mat[top])]
        pivots.append(c)
        top += 1
    solution = [Fraction(0)] * n
    for i, c in enumerate(pivots):
        solution[c] = mat[i][n]
    bt = [[solution[i * a + e] for e in range(a)] for i in range(a)]
    rng = np.random.default_rng(1)
    for _ in range(200):  # the construction is exact: check it on integer inputs
        d = [Fraction(int(x)) for x in rng.integers(-9, 10, a)]
        w = [Fraction(int(x)) for x in rng.integers(-9, 10, r)]
        bd = [sum(bt[i][k] * d[k] for k in range(a)) for i in range(a)]
        gw = [sum(g[i][k] * w[k] for k in range(r)) for i in range(a)]
        y = [sum(at[j][i] * bd[i] * gw[i] for i in range(a)) for j in range(m)]
        assert y == [sum(d[j + k] * w[k] for k in range(r)) for j in range(m)]
    return [np.array([[float(x) for x in row] for row in matrix]) for matrix in (at, g, bt)]


def along_three_axes(matrix, x):
    matrix = matrix.astype(np.float32)
    x = np.einsum("ai,...ijk->...ajk", matrix, x).astype(np.float32)
    x = np.einsum("bj,...ajk->...abk", matrix, x).astype(np.float32)
    return np.einsum("ck,...abk->...abc", matrix, x).astype(np.float32)


def errors(at, g, bt, m, centred, channels=96, tiles=1500, seed=0):
    """Relative errors of the Winograd F(m, 3) given by (at, g, bt); of the direct float32 sum when
    at is None."""
    rng = np.random.default_rng(seed)
    a = m + 2
    d = rng.random((tiles, channels, a, a, a)).astype(np.float32)
    if centred:
        d = (d - np.float32(0.5)).astype(np.float32)
    w = (rng.standard_normal((channels, 3, 3, 3)) * np.sqrt(2 / (27 * channels))).astype(np.float32)
    exact = np.zeros((tiles, m, m, m))
    for z, y, x in itertools.product(range(3), repeat=3):
        exact += np.einsum("tcijk,c->tijk", d[:, :, z:z + m, y:y + m, x:x + m].astype(np.float64),
                           w[:, z, y, x].astype(np.float64))
    if at is None:
        out = np.zeros((tiles, m, m, m), np.float32)
        for z, y, x in itertools.product(range(3), repeat=3):
            out += np.einsum("tcijk,c->tijk", d[:, :, z:z + m, y:y + m, x:x + m], w[:, z, y, x], dtype=np.float32)
    else:
        u = along_three_axes(g, w)
        v = along_three_axes(bt, d)
        products = np.einsum("cabk,tcabk->tabk", u, v, dtype=np.float32)
        out = along_three_axes(at, products)
    error = out.astype(np.float64) - exact
    return np.abs(error).max() / np.abs(exact).max(), np.sqrt((error**2).mean() / (exact**2).mean())


def main():
    half = Fraction(1, 2)
    cases = [("direct 3x3x3 sum in float32", 2, None),
             ("F(2x2x2, 3x3x3), points 0, 1, -1 (ours)", 2, [0, 1, -1]),
             ("F(4x4x4, 3x3x3), points 0, 1, -1, 2, -2", 4, [0, 1, -1, 2, -2]),
             ("F(4x4x4, 3x3x3), points 0, 1, -1, 1/2, -2", 4, [0, 1, -1, half, -2])]
    print("| transform | inputs | max error / max output | RMS error / RMS output |")
    print("| --- | --- | --- | --- |")
    for name, m, points in cases:
        at, g, bt = toom_cook([Fraction(p) for p in points], m) if points else (None, None, None)
        for centred in (False, True):
            worst, rms = errors(at, g, bt, m, centred)
            print(f"| {name} | {'centred' if centred else '[0, 1)'} | {worst:.2g} | {rms:.2g} |")


if __name__ == "__main__":
    main()
