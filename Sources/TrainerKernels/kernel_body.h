// One copy of every kernel, included once per instruction-set level by trainer_kernels.c with
// TK(name) giving the level's function names, FMA(a, b, c) = a*b + c rounded once, and the
// level's target attribute in force (and ROUNDEVEN, see vec.h). No include guard: it is meant to be included repeatedly.
//
// Each function mirrors its Swift counterpart in Sources/VAETrainer/Kernels.swift (or Scalar.swift,
// Shard.swift) operation for operation: a Swift `a.addingProduct(x, w)` is FMA(x, w, a) here, and
// the loops, tiles and the order of every accumulation are the same, because bits depend on them.

static void TK(gemv_lanes)(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *out) {
    ptrdiff_t r = 0;
    while (r + 4 <= rows) {
        v16f a0 = LD(V(out, r)), a1 = LD(V(out, r + 1)), a2 = LD(V(out, r + 2)), a3 = LD(V(out, r + 3));
        const float *w0 = w + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        for (ptrdiff_t k = 0; k < cols; k++) {
            v16f xv = LD(V(x, k));
            a0 = FMA(xv, SPLAT(w0[k]), a0); a1 = FMA(xv, SPLAT(w1[k]), a1);
            a2 = FMA(xv, SPLAT(w2[k]), a2); a3 = FMA(xv, SPLAT(w3[k]), a3);
        }
        ST(V(out, r), a0); ST(V(out, r + 1), a1); ST(V(out, r + 2), a2); ST(V(out, r + 3), a3);
        r += 4;
    }
    for (; r < rows; r++) {
        v16f a = LD(V(out, r));
        const float *wr = w + r * cols;
        for (ptrdiff_t k = 0; k < cols; k++) a = FMA(LD(V(x, k)), SPLAT(wr[k]), a);
        ST(V(out, r), a);
    }
}

static void TK(gemvt_lanes)(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *dy, float *dx) {
    ptrdiff_t k = 0;
    while (k + 4 <= cols) {
        v16f a0 = LD(V(dx, k)), a1 = LD(V(dx, k + 1)), a2 = LD(V(dx, k + 2)), a3 = LD(V(dx, k + 3));
        const float *wr = w + k;
        for (ptrdiff_t r = 0; r < rows; r++) {
            v16f d = LD(V(dy, r));
            a0 = FMA(d, SPLAT(wr[0]), a0); a1 = FMA(d, SPLAT(wr[1]), a1);
            a2 = FMA(d, SPLAT(wr[2]), a2); a3 = FMA(d, SPLAT(wr[3]), a3);
            wr += cols;
        }
        ST(V(dx, k), a0); ST(V(dx, k + 1), a1); ST(V(dx, k + 2), a2); ST(V(dx, k + 3), a3);
        k += 4;
    }
    for (; k < cols; k++) {
        v16f a = LD(V(dx, k));
        for (ptrdiff_t r = 0; r < rows; r++) a = FMA(LD(V(dy, r)), SPLAT(w[r * cols + k]), a);
        ST(V(dx, k), a);
    }
}

static void TK(outer_accumulate)(const float *dy, ptrdiff_t dyStride, const float *x, ptrdiff_t xStride,
                          ptrdiff_t steps, ptrdiff_t rows, ptrdiff_t cols, float *gw) {
    for (ptrdiff_t r = 0; r < rows;) {
        ptrdiff_t nr = rows - r < 2 ? rows - r : 2;
        for (ptrdiff_t k = 0; k < cols;) {
            ptrdiff_t nk = cols - k < 4 ? cols - k : 4;
            if (nr == 2 && nk == 4) {
                v16f a00 = {0}, a01 = {0}, a02 = {0}, a03 = {0}, a10 = {0}, a11 = {0}, a12 = {0}, a13 = {0};
                for (ptrdiff_t t = 0; t < steps; t++) {
                    const float *d = V(dy, t * dyStride + r), *xv = V(x, t * xStride + k);
                    v16f d0 = LD(V(d, 0)), d1 = LD(V(d, 1));
                    v16f x0 = LD(V(xv, 0)), x1 = LD(V(xv, 1)), x2 = LD(V(xv, 2)), x3 = LD(V(xv, 3));
                    a00 = FMA(d0, x0, a00); a01 = FMA(d0, x1, a01); a02 = FMA(d0, x2, a02); a03 = FMA(d0, x3, a03);
                    a10 = FMA(d1, x0, a10); a11 = FMA(d1, x1, a11); a12 = FMA(d1, x2, a12); a13 = FMA(d1, x3, a13);
                }
                float *g0 = gw + r * cols + k, *g1 = g0 + cols;
                g0[0] += HSUM(a00); g0[1] += HSUM(a01); g0[2] += HSUM(a02); g0[3] += HSUM(a03);
                g1[0] += HSUM(a10); g1[1] += HSUM(a11); g1[2] += HSUM(a12); g1[3] += HSUM(a13);
            } else {
                for (ptrdiff_t rr = r; rr < r + nr; rr++)
                    for (ptrdiff_t kk = k; kk < k + nk; kk++) {
                        v16f a = {0};
                        for (ptrdiff_t t = 0; t < steps; t++)
                            a = FMA(LD(V(dy, t * dyStride + rr)), LD(V(x, t * xStride + kk)), a);
                        gw[rr * cols + kk] += HSUM(a);
                    }
            }
            k += nk;
        }
        r += nr;
    }
}

static void TK(deconv_forward)(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b,
                        ptrdiff_t outC, ptrdiff_t k, float *output) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    for (ptrdiff_t oc = 0; oc < outC;) {
        ptrdiff_t n = outC - oc < 4 ? outC - oc : 4;
        for (ptrdiff_t oy = 0; oy < os; oy++) {
            ptrdiff_t kyLo = oy - side + 1 > 0 ? oy - side + 1 : 0, kyHi = k - 1 < oy ? k - 1 : oy;
            for (ptrdiff_t ox = 0; ox < os; ox++) {
                ptrdiff_t kxLo = ox - side + 1 > 0 ? ox - side + 1 : 0, kxHi = k - 1 < ox ? k - 1 : ox;
                v16f a0 = SPLAT(b[oc]);
                v16f a1 = n > 1 ? SPLAT(b[oc + 1]) : SPLAT(0.0f);
                v16f a2 = n > 2 ? SPLAT(b[oc + 2]) : SPLAT(0.0f);
                v16f a3 = n > 3 ? SPLAT(b[oc + 3]) : SPLAT(0.0f);
                for (ptrdiff_t ic = 0; ic < inC; ic++) {
                    const float *wb = w + (ic * outC + oc) * kk;
                    const float *ib = V(input, ic * inPlane);
                    if (kyLo > kyHi || kxLo > kxHi) continue;
                    for (ptrdiff_t ky = kyLo; ky <= kyHi; ky++) {
                        const float *irow = V(ib, (oy - ky) * side + ox);
                        const float *wr = wb + ky * k;
                        if (n == 4) {
                            for (ptrdiff_t kx = kxLo; kx <= kxHi; kx++) {
                                v16f v = LD(V(irow, -kx));
                                a0 = FMA(v, SPLAT(wr[kx]), a0); a1 = FMA(v, SPLAT(wr[kk + kx]), a1);
                                a2 = FMA(v, SPLAT(wr[2 * kk + kx]), a2); a3 = FMA(v, SPLAT(wr[3 * kk + kx]), a3);
                            }
                        } else {
                            for (ptrdiff_t kx = kxLo; kx <= kxHi; kx++) {
                                v16f v = LD(V(irow, -kx));
                                a0 = FMA(v, SPLAT(wr[kx]), a0);
                                if (n > 1) a1 = FMA(v, SPLAT(wr[kk + kx]), a1);
                                if (n > 2) a2 = FMA(v, SPLAT(wr[2 * kk + kx]), a2);
                            }
                        }
                    }
                }
                float *o = V(output, oc * outPlane + oy * os + ox);
                ST(o, a0);
                if (n > 1) ST(V(o, outPlane), a1);
                if (n > 2) ST(V(o, 2 * outPlane), a2);
                if (n > 3) ST(V(o, 3 * outPlane), a3);
            }
        }
        oc += n;
    }
}

static void TK(deconv_backward_input)(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w,
                               ptrdiff_t inC, ptrdiff_t k, float *dIn) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    ptrdiff_t icStride = outC * kk;
    for (ptrdiff_t ic = 0; ic < inC;) {
        ptrdiff_t n = inC - ic < 4 ? inC - ic : 4;
        for (ptrdiff_t iy = 0; iy < side; iy++) {
            for (ptrdiff_t ix = 0; ix < side; ix++) {
                v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                for (ptrdiff_t oc = 0; oc < outC; oc++) {
                    const float *wb = w + (ic * outC + oc) * kk;
                    const float *db = V(dOut, oc * outPlane + iy * os + ix);
                    for (ptrdiff_t ky = 0; ky < k; ky++) {
                        const float *drow = V(db, ky * os);
                        const float *wr = wb + ky * k;
                        if (n == 4) {
                            for (ptrdiff_t kx = 0; kx < k; kx++) {
                                v16f d = LD(V(drow, kx));
                                a0 = FMA(d, SPLAT(wr[kx]), a0); a1 = FMA(d, SPLAT(wr[icStride + kx]), a1);
                                a2 = FMA(d, SPLAT(wr[2 * icStride + kx]), a2); a3 = FMA(d, SPLAT(wr[3 * icStride + kx]), a3);
                            }
                        } else {
                            for (ptrdiff_t kx = 0; kx < k; kx++) {
                                v16f d = LD(V(drow, kx));
                                a0 = FMA(d, SPLAT(wr[kx]), a0);
                                if (n > 1) a1 = FMA(d, SPLAT(wr[icStride + kx]), a1);
                                if (n > 2) a2 = FMA(d, SPLAT(wr[2 * icStride + kx]), a2);
                            }
                        }
                    }
                }
                float *o = V(dIn, ic * inPlane + iy * side + ix);
                ST(o, a0);
                if (n > 1) ST(V(o, inPlane), a1);
                if (n > 2) ST(V(o, 2 * inPlane), a2);
                if (n > 3) ST(V(o, 3 * inPlane), a3);
            }
        }
        ic += n;
    }
}

static void TK(deconv_backward_weights)(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *dOut,
                                 ptrdiff_t outC, ptrdiff_t k, float *gw, float *gb) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    for (ptrdiff_t oc = 0; oc < outC; oc++) {
        v16f a = {0};
        const float *db = V(dOut, oc * outPlane);
        for (ptrdiff_t p = 0; p < outPlane; p++) a += LD(V(db, p));
        gb[oc] += HSUM(a);
    }
    for (ptrdiff_t ic = 0; ic < inC; ic++) {
        const float *ib = V(input, ic * inPlane);
        for (ptrdiff_t oc = 0; oc < outC; oc++) {
            const float *db = V(dOut, oc * outPlane);
            float *g = gw + (ic * outC + oc) * kk;
            for (ptrdiff_t ky = 0; ky < k; ky++) {
                for (ptrdiff_t kx = 0; kx < k;) {
                    if (kx + 4 <= k) {
                        v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
                        for (ptrdiff_t iy = 0; iy < side; iy++) {
                            const float *irow = V(ib, iy * side);
                            const float *drow = V(db, (iy + ky) * os + kx);
                            for (ptrdiff_t ix = 0; ix < side; ix++) {
                                v16f v = LD(V(irow, ix));
                                a0 = FMA(v, LD(V(drow, ix)), a0); a1 = FMA(v, LD(V(drow, ix + 1)), a1);
                                a2 = FMA(v, LD(V(drow, ix + 2)), a2); a3 = FMA(v, LD(V(drow, ix + 3)), a3);
                            }
                        }
                        g[ky * k + kx] += HSUM(a0); g[ky * k + kx + 1] += HSUM(a1);
                        g[ky * k + kx + 2] += HSUM(a2); g[ky * k + kx + 3] += HSUM(a3);
                        kx += 4;
                    } else {
                        v16f a0 = {0};
                        for (ptrdiff_t iy = 0; iy < side; iy++) {
                            const float *irow = V(ib, iy * side);
                            const float *drow = V(db, (iy + ky) * os + kx);
                            for (ptrdiff_t ix = 0; ix < side; ix++) a0 = FMA(LD(V(irow, ix)), LD(V(drow, ix)), a0);
                        }
                        g[ky * k + kx] += HSUM(a0);
                        kx += 1;
                    }
                }
            }
        }
    }
}

// The cell loop of Shard.forward.
static void TK(lstm_cell_forward)(float *g, const float *cp, float *cn, float *tct, float *hn, ptrdiff_t H) {
    for (ptrdiff_t j = 0; j < H; j++) {
        v16f ig = VSIGMOID(LD(V(g, j))), fg = VSIGMOID(LD(V(g, H + j)));
        v16f gg = VTANH(LD(V(g, 2 * H + j))), og = VSIGMOID(LD(V(g, 3 * H + j)));
        ST(V(g, j), ig); ST(V(g, H + j), fg); ST(V(g, 2 * H + j), gg); ST(V(g, 3 * H + j), og);
        v16f cv = fg * LD(V(cp, j)) + ig * gg;
        ST(V(cn, j), cv);
        v16f tcv = VTANH(cv);
        ST(V(tct, j), tcv);
        ST(V(hn, j), og * tcv);
    }
}

static void TK(sigmoid_lanes)(float *v, ptrdiff_t n) {
    for (ptrdiff_t p = 0; p < n; p++) ST(V(v, p), VSIGMOID(LD(V(v, p))));
}

static void TK(exp_lanes)(const float *x, float *out, ptrdiff_t n) {
    for (ptrdiff_t p = 0; p < n; p++) ST(V(out, p), VEXP(LD(V(x, p))));
}

static void TK(fma_lanes)(const float *a, const float *b, const float *c, float *out, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) ST(V(out, i), FMA(LD(V(a, i)), LD(V(b, i)), LD(V(c, i))));
}


// ---- Wider register tiles (TK_WIDE: the AVX-512 level, whose 32 vector registers hold them).
// Every output below is accumulated in exactly the order of the kernel it speeds up (the same
// fused multiply-adds on the same accumulator, from the same start value), so a wider tile
// changes which outputs are in registers together, never a bit of any result.

// gemv_lanes for n right-hand sides at once: out_t[r] += sum_k w[r, k] * x_t[k] for t < n,
// x_t = x + t*xStride vectors, out_t likewise. Each weight broadcast feeds four steps.
static void TK(gemv_lanes_multi)(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, ptrdiff_t xStride,
                                 float *out, ptrdiff_t outStride, ptrdiff_t n) {
#if TK_WIDE
    ptrdiff_t t = 0;
    for (; t + 4 <= n; t += 4) {
        const float *x0 = V(x, t * xStride), *x1 = V(x0, xStride), *x2 = V(x1, xStride), *x3 = V(x2, xStride);
        float *o0 = V(out, t * outStride), *o1 = V(o0, outStride), *o2 = V(o1, outStride), *o3 = V(o2, outStride);
        ptrdiff_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            v16f a[4][4];
            for (int i = 0; i < 4; i++) {
                a[0][i] = LD(V(o0, r + i)); a[1][i] = LD(V(o1, r + i)); a[2][i] = LD(V(o2, r + i)); a[3][i] = LD(V(o3, r + i));
            }
            const float *w0 = w + r * cols;
            for (ptrdiff_t k = 0; k < cols; k++) {
                v16f xv0 = LD(V(x0, k)), xv1 = LD(V(x1, k)), xv2 = LD(V(x2, k)), xv3 = LD(V(x3, k));
                for (int i = 0; i < 4; i++) {
                    v16f wv = SPLAT(w0[i * cols + k]);
                    a[0][i] = FMA(xv0, wv, a[0][i]); a[1][i] = FMA(xv1, wv, a[1][i]);
                    a[2][i] = FMA(xv2, wv, a[2][i]); a[3][i] = FMA(xv3, wv, a[3][i]);
                }
            }
            for (int i = 0; i < 4; i++) {
                ST(V(o0, r + i), a[0][i]); ST(V(o1, r + i), a[1][i]); ST(V(o2, r + i), a[2][i]); ST(V(o3, r + i), a[3][i]);
            }
        }
        if (r < rows) {
            TK(gemv_lanes)(w + r * cols, rows - r, cols, x0, V(o0, r)); TK(gemv_lanes)(w + r * cols, rows - r, cols, x1, V(o1, r));
            TK(gemv_lanes)(w + r * cols, rows - r, cols, x2, V(o2, r)); TK(gemv_lanes)(w + r * cols, rows - r, cols, x3, V(o3, r));
        }
    }
    for (; t < n; t++) TK(gemv_lanes)(w, rows, cols, V(x, t * xStride), V(out, t * outStride));
#else
    for (ptrdiff_t t = 0; t < n; t++) TK(gemv_lanes)(w, rows, cols, V(x, t * xStride), V(out, t * outStride));
#endif
}

// gemv_lanes with sixteen rows a tile (sixteen independent chains), then the usual tiles.
static void TK(gemv_lanes_fast)(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *x, float *out) {
    ptrdiff_t r = 0;
#if TK_WIDE
    for (; r + 16 <= rows; r += 16) {
        v16f a[16];
        for (int i = 0; i < 16; i++) a[i] = LD(V(out, r + i));
        const float *w0 = w + r * cols;
        for (ptrdiff_t k = 0; k < cols; k++) {
            v16f xv = LD(V(x, k));
            for (int i = 0; i < 16; i++) a[i] = FMA(xv, SPLAT(w0[i * cols + k]), a[i]);
        }
        for (int i = 0; i < 16; i++) ST(V(out, r + i), a[i]);
    }
#endif
    if (r < rows) TK(gemv_lanes)(w + r * cols, rows - r, cols, x, V(out, r));
}

// gemvt_lanes with sixteen columns a tile.
static void TK(gemvt_lanes_fast)(const float *w, ptrdiff_t rows, ptrdiff_t cols, const float *dy, float *dx) {
    ptrdiff_t k = 0;
#if TK_WIDE
    for (; k + 16 <= cols; k += 16) {
        v16f a[16];
        for (int i = 0; i < 16; i++) a[i] = LD(V(dx, k + i));
        const float *wr = w + k;
        for (ptrdiff_t r = 0; r < rows; r++) {
            v16f d = LD(V(dy, r));
            for (int i = 0; i < 16; i++) a[i] = FMA(d, SPLAT(wr[i]), a[i]);
            wr += cols;
        }
        for (int i = 0; i < 16; i++) ST(V(dx, k + i), a[i]);
    }
#endif
    // The remaining columns: gemvt_lanes on a column range is gemvt_lanes of w's columns k...
    for (; k + 4 <= cols; k += 4) {
        v16f a0 = LD(V(dx, k)), a1 = LD(V(dx, k + 1)), a2 = LD(V(dx, k + 2)), a3 = LD(V(dx, k + 3));
        const float *wr = w + k;
        for (ptrdiff_t r = 0; r < rows; r++) {
            v16f d = LD(V(dy, r));
            a0 = FMA(d, SPLAT(wr[0]), a0); a1 = FMA(d, SPLAT(wr[1]), a1);
            a2 = FMA(d, SPLAT(wr[2]), a2); a3 = FMA(d, SPLAT(wr[3]), a3);
            wr += cols;
        }
        ST(V(dx, k), a0); ST(V(dx, k + 1), a1); ST(V(dx, k + 2), a2); ST(V(dx, k + 3), a3);
    }
    for (; k < cols; k++) {
        v16f a = LD(V(dx, k));
        for (ptrdiff_t r = 0; r < rows; r++) a = FMA(LD(V(dy, r)), SPLAT(w[r * cols + k]), a);
        ST(V(dx, k), a);
    }
}

// outer_accumulate: each gw[r, k] is its own chain over t, summed with HSUM and added, so any
// tiling of (r, k) gives the same bits. Wide: 4 x 4 tiles (eight loads feed sixteen FMAs).
static void TK(outer_accumulate_fast)(const float *dy, ptrdiff_t dyStride, const float *x, ptrdiff_t xStride,
                                      ptrdiff_t steps, ptrdiff_t rows, ptrdiff_t cols, float *gw) {
#if TK_WIDE
    ptrdiff_t r4 = rows / 4 * 4, k4 = cols / 4 * 4;
    for (ptrdiff_t r = 0; r < r4; r += 4) {
        for (ptrdiff_t k = 0; k < k4; k += 4) {
            v16f a[4][4];
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) a[i][j] = (v16f){0};
            for (ptrdiff_t t = 0; t < steps; t++) {
                const float *d = V(dy, t * dyStride + r), *xv = V(x, t * xStride + k);
                v16f x0 = LD(V(xv, 0)), x1 = LD(V(xv, 1)), x2 = LD(V(xv, 2)), x3 = LD(V(xv, 3));
                for (int i = 0; i < 4; i++) {
                    v16f di = LD(V(d, i));
                    a[i][0] = FMA(di, x0, a[i][0]); a[i][1] = FMA(di, x1, a[i][1]);
                    a[i][2] = FMA(di, x2, a[i][2]); a[i][3] = FMA(di, x3, a[i][3]);
                }
            }
            v16f sums = HSUM16(&a[0][0]);
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) gw[(r + i) * cols + k + j] += sums[i * 4 + j];
        }
    }
    // The strips left: single outputs.
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t k = (r < r4 ? k4 : 0); k < cols; k++) {
            v16f a = {0};
            for (ptrdiff_t t = 0; t < steps; t++) a = FMA(LD(V(dy, t * dyStride + r)), LD(V(x, t * xStride + k)), a);
            gw[r * cols + k] += HSUM(a);
        }
#else
    TK(outer_accumulate)(dy, dyStride, x, xStride, steps, rows, cols, gw);
#endif
}

// ---- Elementwise passes of Shard.forward / Shard.backward (Shard.swift's ref* functions).

// kind 1: ReLU, 2: LeakyReLU(slope); in place.
static void TK(activation_forward)(float *o, ptrdiff_t n, int32_t kind, float slope) {
    v16f s = SPLAT(slope), zero = SPLAT(0.0f);
    for (ptrdiff_t p = 0; p < n; p++) {
        v16f v = LD(V(o, p));
        if (kind == 1) ST(V(o, p), SELECT(v < zero, zero, v));
        else ST(V(o, p), SELECT(v < zero, v * s, v));
    }
}

// d through the activation whose output is a: 1 ReLU, 2 LeakyReLU(slope), 3 sigmoid.
static void TK(activation_backward)(float *d, const float *a, ptrdiff_t n, int32_t kind, float slope) {
    v16f s = SPLAT(slope), zero = SPLAT(0.0f), one = SPLAT(1.0f);
    for (ptrdiff_t q = 0; q < n; q++) {
        v16f dv = LD(V(d, q)), av = LD(V(a, q));
        if (kind == 1) ST(V(d, q), SELECT(av <= zero, zero, dv));
        else if (kind == 2) ST(V(d, q), SELECT(av <= zero, dv * s, dv));
        else ST(V(d, q), dv * av * (one - av));
    }
}

// BCE summed over n pixels into *rec (one lanes vector, overwritten), each log clamped at -100.
static void TK(bce_forward)(const float *out, const float *x, ptrdiff_t n, float *rec) {
    v16f acc = SPLAT(0.0f), floor = SPLAT(-100.0f), one = SPLAT(1.0f);
    for (ptrdiff_t p = 0; p < n; p++) {
        v16f pr = LD(V(out, p)), tg = LD(V(x, p));
        v16f lpr = VLOG(pr), l1pr = VLOG(one - pr);
        v16f lp = SELECT(lpr < floor, floor, lpr), l1p = SELECT(l1pr < floor, floor, l1pr);
        acc = acc - (tg * lp + (one - tg) * l1p);
    }
    ST(rec, acc);
}

// The BCE's gradient through the output sigmoid, as PyTorch chains them.
static void TK(bce_backward)(const float *out, const float *x, const float *mask, ptrdiff_t n, float *d) {
    v16f tiny = SPLAT((float)1e-12), one = SPLAT(1.0f), m = LD(mask);
    for (ptrdiff_t p = 0; p < n; p++) {
        v16f pr = LD(V(out, p));
        v16f s = pr * (one - pr);
        ST(V(d, p), (pr - LD(V(x, p))) / SELECT(s < tiny, tiny, s) * s * m);
    }
}

// One step of backpropagation through time: the gates' gradients into d, dc updated.
static void TK(lstm_cell_backward)(const float *g, const float *cp, const float *tct, const float *dh, float *dc,
                                   float *d, ptrdiff_t H) {
    v16f one = SPLAT(1.0f);
    for (ptrdiff_t j = 0; j < H; j++) {
        v16f ig = LD(V(g, j)), fg = LD(V(g, H + j)), gg = LD(V(g, 2 * H + j)), og = LD(V(g, 3 * H + j));
        v16f tcv = LD(V(tct, j)), dhj = LD(V(dh, j));
        v16f dcj = LD(V(dc, j)) + dhj * og * (one - tcv * tcv);
        ST(V(d, j), dcj * gg * ig * (one - ig));
        ST(V(d, H + j), dcj * LD(V(cp, j)) * fg * (one - fg));
        ST(V(d, 2 * H + j), dcj * ig * (one - gg * gg));
        ST(V(d, 3 * H + j), dhj * tcv * og * (one - og));
        ST(V(dc, j), dcj * fg);
    }
}

// ---- Transposed convolutions with wider tiles (same order per output as the plain kernels:
// over ic, then ky, then kx for the forward pass; oc, ky, kx for the input gradient; iy, ix
// for the weight gradient).

// One tile of n output channels from oc (n a constant at each call: the guards fold away).
static inline __attribute__((always_inline)) void TK(deconv_forward_tile)(
        const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b, ptrdiff_t outC, ptrdiff_t k,
        float *output, ptrdiff_t oc, const int n) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    for (ptrdiff_t oy = 0; oy < os; oy++) {
        ptrdiff_t kyLo = oy - side + 1 > 0 ? oy - side + 1 : 0, kyHi = k - 1 < oy ? k - 1 : oy;
        for (ptrdiff_t ox = 0; ox < os; ox++) {
            ptrdiff_t kxLo = ox - side + 1 > 0 ? ox - side + 1 : 0, kxHi = k - 1 < ox ? k - 1 : ox;
            v16f a[16];
#pragma clang loop unroll(full)
            for (int j = 0; j < 16; j++) a[j] = j < n ? SPLAT(b[oc + j]) : SPLAT(0.0f);
            for (ptrdiff_t ic = 0; ic < inC; ic++) {
                const float *wb = w + (ic * outC + oc) * kk;
                const float *ib = V(input, ic * inPlane);
                for (ptrdiff_t ky = kyLo; ky <= kyHi; ky++) {
                    const float *irow = V(ib, (oy - ky) * side + ox);
                    const float *wr = wb + ky * k;
                    for (ptrdiff_t kx = kxLo; kx <= kxHi; kx++) {
                        v16f v = LD(V(irow, -kx));
#pragma clang loop unroll(full)
                        for (int j = 0; j < 16; j++) if (j < n) a[j] = FMA(v, SPLAT(wr[j * kk + kx]), a[j]);
                    }
                }
            }
            float *o = V(output, oc * outPlane + oy * os + ox);
#pragma clang loop unroll(full)
            for (int j = 0; j < 16; j++) if (j < n) ST(V(o, j * outPlane), a[j]);
        }
    }
}

static inline __attribute__((always_inline)) void TK(deconv_forward_small)(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b, ptrdiff_t outC, ptrdiff_t k, float *output, const int n) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    for (ptrdiff_t oy = 0; oy < os; oy++) {
        ptrdiff_t kyLo = oy - side + 1 > 0 ? oy - side + 1 : 0, kyHi = k - 1 < oy ? k - 1 : oy;
        for (ptrdiff_t ox = 0; ox < os;) {
            if (ox >= k - 1 && ox + 4 <= side) {
                // ox...ox+3 each take every kx in 0..<k.
                v16f a[4][4];
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++)
#pragma clang loop unroll(full)
                    for (int q = 0; q < 4; q++) a[j][q] = j < n ? SPLAT(b[j]) : SPLAT(0.0f);
                for (ptrdiff_t ic = 0; ic < inC; ic++) {
                    const float *wb = w + ic * outC * kk;
                    const float *ib = V(input, ic * inPlane);
                    for (ptrdiff_t ky = kyLo; ky <= kyHi; ky++) {
                        const float *irow = V(ib, (oy - ky) * side + ox);
                        const float *wr = wb + ky * k;
                        for (ptrdiff_t kx = 0; kx < k; kx++) {
                            v16f v0 = LD(V(irow, -kx)), v1 = LD(V(irow, 1 - kx)), v2 = LD(V(irow, 2 - kx)), v3 = LD(V(irow, 3 - kx));
#pragma clang loop unroll(full)
                            for (int j = 0; j < 4; j++) if (j < n) {
                                v16f wv = SPLAT(wr[j * kk + kx]);
                                a[j][0] = FMA(v0, wv, a[j][0]); a[j][1] = FMA(v1, wv, a[j][1]);
                                a[j][2] = FMA(v2, wv, a[j][2]); a[j][3] = FMA(v3, wv, a[j][3]);
                            }
                        }
                    }
                }
                float *o = V(output, oy * os + ox);
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) if (j < n) {
                    ST(V(o, j * outPlane), a[j][0]); ST(V(o, j * outPlane + 1), a[j][1]);
                    ST(V(o, j * outPlane + 2), a[j][2]); ST(V(o, j * outPlane + 3), a[j][3]);
                }
                ox += 4;
            } else {
                ptrdiff_t kxLo = ox - side + 1 > 0 ? ox - side + 1 : 0, kxHi = k - 1 < ox ? k - 1 : ox;
                v16f a[4];
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) a[j] = j < n ? SPLAT(b[j]) : SPLAT(0.0f);
                for (ptrdiff_t ic = 0; ic < inC; ic++) {
                    const float *wb = w + ic * outC * kk;
                    const float *ib = V(input, ic * inPlane);
                    for (ptrdiff_t ky = kyLo; ky <= kyHi; ky++) {
                        const float *irow = V(ib, (oy - ky) * side + ox);
                        const float *wr = wb + ky * k;
                        for (ptrdiff_t kx = kxLo; kx <= kxHi; kx++) {
                            v16f v = LD(V(irow, -kx));
#pragma clang loop unroll(full)
                            for (int j = 0; j < 4; j++) if (j < n) a[j] = FMA(v, SPLAT(wr[j * kk + kx]), a[j]);
                        }
                    }
                }
                float *o = V(output, oy * os + ox);
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) if (j < n) ST(V(o, j * outPlane), a[j]);
                ox += 1;
            }
        }
    }
}

// deconv_forward. Wide: more than four output channels are done up to sixteen a tile (one
// input load feeds up to sixteen FMAs); four or fewer, four adjacent pixels a tile where all
// four see every tap (interior columns), one pixel at a time at the borders.
static void TK(deconv_forward_fast)(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *w, const float *b,
                                    ptrdiff_t outC, ptrdiff_t k, float *output) {
#if TK_WIDE
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    if (outC > 4) {
        for (ptrdiff_t oc = 0; oc < outC; oc += 16) {
            ptrdiff_t n = outC - oc < 16 ? outC - oc : 16;
            SPECIALISE_1_16(n, TK(deconv_forward_tile), input, inC, side, w, b, outC, k, output, oc);
        }
        return;
    }
    ptrdiff_t n = outC;
    SPECIALISE_1_16(n, TK(deconv_forward_small), input, inC, side, w, b, outC, k, output);
#else
    TK(deconv_forward)(input, inC, side, w, b, outC, k, output);
#endif
}

static inline __attribute__((always_inline)) void TK(deconv_backward_input_tile)(
        const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w, ptrdiff_t inC, ptrdiff_t k, float *dIn,
        ptrdiff_t ic, const int n) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    ptrdiff_t icStride = outC * kk;
    for (ptrdiff_t iy = 0; iy < side; iy++) {
        for (ptrdiff_t ix = 0; ix < side; ix++) {
            v16f a[16];
#pragma clang loop unroll(full)
            for (int j = 0; j < 16; j++) a[j] = (v16f){0};
            for (ptrdiff_t oc = 0; oc < outC; oc++) {
                const float *wb = w + (ic * outC + oc) * kk;
                const float *db = V(dOut, oc * outPlane + iy * os + ix);
                for (ptrdiff_t ky = 0; ky < k; ky++) {
                    const float *drow = V(db, ky * os);
                    const float *wr = wb + ky * k;
                    for (ptrdiff_t kx = 0; kx < k; kx++) {
                        v16f d = LD(V(drow, kx));
#pragma clang loop unroll(full)
                        for (int j = 0; j < 16; j++) if (j < n) a[j] = FMA(d, SPLAT(wr[j * icStride + kx]), a[j]);
                    }
                }
            }
            float *o = V(dIn, ic * inPlane + iy * side + ix);
#pragma clang loop unroll(full)
            for (int j = 0; j < 16; j++) if (j < n) ST(V(o, j * inPlane), a[j]);
        }
    }
}

static inline __attribute__((always_inline)) void TK(deconv_backward_input_small)(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w, ptrdiff_t inC, ptrdiff_t k, float *dIn, const int n) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    ptrdiff_t icStride = outC * kk;
    for (ptrdiff_t iy = 0; iy < side; iy++) {
        ptrdiff_t ix = 0;
        for (; ix + 4 <= side; ix += 4) {
            v16f a[4][4];
#pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++)
#pragma clang loop unroll(full)
                for (int q = 0; q < 4; q++) a[j][q] = (v16f){0};
            for (ptrdiff_t oc = 0; oc < outC; oc++) {
                const float *wb = w + oc * kk;
                const float *db = V(dOut, oc * outPlane + iy * os + ix);
                for (ptrdiff_t ky = 0; ky < k; ky++) {
                    const float *drow = V(db, ky * os);
                    const float *wr = wb + ky * k;
                    for (ptrdiff_t kx = 0; kx < k; kx++) {
                        v16f d0 = LD(V(drow, kx)), d1 = LD(V(drow, kx + 1)), d2 = LD(V(drow, kx + 2)), d3 = LD(V(drow, kx + 3));
#pragma clang loop unroll(full)
                        for (int j = 0; j < 4; j++) if (j < n) {
                            v16f wv = SPLAT(wr[j * icStride + kx]);
                            a[j][0] = FMA(d0, wv, a[j][0]); a[j][1] = FMA(d1, wv, a[j][1]);
                            a[j][2] = FMA(d2, wv, a[j][2]); a[j][3] = FMA(d3, wv, a[j][3]);
                        }
                    }
                }
            }
            float *o = V(dIn, iy * side + ix);
#pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) if (j < n) {
                ST(V(o, j * inPlane), a[j][0]); ST(V(o, j * inPlane + 1), a[j][1]);
                ST(V(o, j * inPlane + 2), a[j][2]); ST(V(o, j * inPlane + 3), a[j][3]);
            }
        }
        for (; ix < side; ix++) {
            v16f a[4];
#pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) a[j] = (v16f){0};
            for (ptrdiff_t oc = 0; oc < outC; oc++) {
                const float *wb = w + oc * kk;
                const float *db = V(dOut, oc * outPlane + iy * os + ix);
                for (ptrdiff_t ky = 0; ky < k; ky++) {
                    const float *drow = V(db, ky * os);
                    const float *wr = wb + ky * k;
                    for (ptrdiff_t kx = 0; kx < k; kx++) {
                        v16f d = LD(V(drow, kx));
#pragma clang loop unroll(full)
                        for (int j = 0; j < 4; j++) if (j < n) a[j] = FMA(d, SPLAT(wr[j * icStride + kx]), a[j]);
                    }
                }
            }
            float *o = V(dIn, iy * side + ix);
#pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) if (j < n) ST(V(o, j * inPlane), a[j]);
        }
    }
}

// deconv_backward_input. Wide: more than four input channels up to sixteen a tile; four or
// fewer, four adjacent pixels a tile (every pixel takes every tap: no borders here).
static void TK(deconv_backward_input_fast)(const float *dOut, ptrdiff_t outC, ptrdiff_t side, const float *w,
                                           ptrdiff_t inC, ptrdiff_t k, float *dIn) {
#if TK_WIDE
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    ptrdiff_t icStride = outC * kk;
    if (inC > 4) {
        for (ptrdiff_t ic = 0; ic < inC; ic += 16) {
            ptrdiff_t n = inC - ic < 16 ? inC - ic : 16;
            SPECIALISE_1_16(n, TK(deconv_backward_input_tile), dOut, outC, side, w, inC, k, dIn, ic);
        }
        return;
    }
    ptrdiff_t n = inC;
    SPECIALISE_1_16(n, TK(deconv_backward_input_small), dOut, outC, side, w, inC, k, dIn);
#else
    TK(deconv_backward_input)(dOut, outC, side, w, inC, k, dIn);
#endif
}

static inline __attribute__((always_inline)) void TK(deconv_backward_weights_group)(
        const float *input, ptrdiff_t side, const float *dOut, ptrdiff_t outC, ptrdiff_t k, float *gw, ptrdiff_t ic,
        const int n) {
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    const float *ib[4];
    for (int i = 0; i < 4; i++) ib[i] = V(input, (ic + (i < n ? i : 0)) * inPlane);
    for (ptrdiff_t oc = 0; oc < outC; oc++) {
        const float *db = V(dOut, oc * outPlane);
        float *g[4];
        for (int i = 0; i < 4; i++) g[i] = gw + ((ic + i) * outC + oc) * kk;
        for (ptrdiff_t ky = 0; ky < k; ky++) {
            for (ptrdiff_t kx = 0; kx < k;) {
                if (kx + 4 <= k) {
                    v16f a[4][4];
#pragma clang loop unroll(full)
                    for (int i = 0; i < 4; i++)
#pragma clang loop unroll(full)
                        for (int j = 0; j < 4; j++) a[i][j] = (v16f){0};
                    for (ptrdiff_t iy = 0; iy < side; iy++) {
                        const float *drow = V(db, (iy + ky) * os + kx);
                        ptrdiff_t ro = iy * side;
                        for (ptrdiff_t ix = 0; ix < side; ix++) {
                            v16f d0 = LD(V(drow, ix)), d1 = LD(V(drow, ix + 1)), d2 = LD(V(drow, ix + 2)), d3 = LD(V(drow, ix + 3));
#pragma clang loop unroll(full)
                            for (int i = 0; i < 4; i++) if (i < n) {
                                v16f v = LD(V(ib[i], ro + ix));
                                a[i][0] = FMA(v, d0, a[i][0]); a[i][1] = FMA(v, d1, a[i][1]);
                                a[i][2] = FMA(v, d2, a[i][2]); a[i][3] = FMA(v, d3, a[i][3]);
                            }
                        }
                    }
                    v16f sums = HSUM16(&a[0][0]);
                    for (int i = 0; i < 4; i++) if (i < n) for (int j = 0; j < 4; j++) g[i][ky * k + kx + j] += sums[i * 4 + j];
                    kx += 4;
                } else {
                    v16f a[4];
#pragma clang loop unroll(full)
                    for (int i = 0; i < 4; i++) a[i] = (v16f){0};
                    for (ptrdiff_t iy = 0; iy < side; iy++) {
                        const float *drow = V(db, (iy + ky) * os + kx);
                        ptrdiff_t ro = iy * side;
                        for (ptrdiff_t ix = 0; ix < side; ix++) {
                            v16f d = LD(V(drow, ix));
#pragma clang loop unroll(full)
                            for (int i = 0; i < 4; i++) if (i < n) a[i] = FMA(LD(V(ib[i], ro + ix)), d, a[i]);
                        }
                    }
                    for (int i = 0; i < 4; i++) if (i < n) g[i][ky * k + kx] += HSUM(a[i]);
                    kx += 1;
                }
            }
        }
    }
}

// deconv_backward_weights. Wide: up to four input channels by four taps a tile (four input
// loads and four gradient loads feed sixteen FMAs, summed with HSUM16), up to four input
// channels by one tap for the taps left.
static void TK(deconv_backward_weights_fast)(const float *input, ptrdiff_t inC, ptrdiff_t side, const float *dOut,
                                             ptrdiff_t outC, ptrdiff_t k, float *gw, float *gb) {
#if TK_WIDE
    ptrdiff_t os = side + k - 1, kk = k * k, inPlane = side * side, outPlane = os * os;
    // The bias: the plain kernel with no input channels.
    TK(deconv_backward_weights)(input, 0, side, dOut, outC, k, gw, gb);
    for (ptrdiff_t ic = 0; ic < inC; ic += 4) {
        ptrdiff_t n = inC - ic < 4 ? inC - ic : 4;
        SPECIALISE_1_16(n, TK(deconv_backward_weights_group), input, side, dOut, outC, k, gw, ic);
    }
#else
    TK(deconv_backward_weights)(input, inC, side, dOut, outC, k, gw, gb);
#endif
}
