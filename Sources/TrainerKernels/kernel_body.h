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

