using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>
/// Plain scalar twins of the fused recurrent step kernels (<see cref="SimpleRnnKernels"/>, <see cref="LstmKernels"/>,
/// <see cref="GruKernels"/>): one element at a time, the formulas as written in docs/derivatives.md, with the same
/// operation order and the same float activations (<see cref="FastMath"/>'s scalar form; the library functions for
/// double), so every SIMD path must match them bit for bit. Test oracles and benchmark baselines, not for speed.
/// </summary>
internal static class ReferenceRecurrent
{
    /// <summary>Twin of <see cref="CellTanhKernels.Tanh"/>: y[i] = tanh(x[i]).</summary>
    public static void CellTanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = Tanh(x[i]);
    }

    private static T Sigmoid<T>(T x) where T : IBinaryFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? T.CreateTruncating(FastMath.Sigmoid(float.CreateTruncating(x))) : T.One / (T.One + T.Exp(-x));

    private static T Tanh<T>(T x) where T : IBinaryFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? T.CreateTruncating(FastMath.Tanh(float.CreateTruncating(x))) : T.Tanh(x);

    /// <summary>
    /// Twin of <see cref="RecurrentKernels.AddColumnSums"/>: dst[j] += (a0 + a1) + (a2 + a3), where accumulator q sums,
    /// in increasing row order, the rows r ≡ q (mod 4) below the last multiple of four and a0 then also the remaining rows.
    /// </summary>
    public static void AddColumnSums<T>(ReadOnlySpan<T> z, int rows, int g, int ld, Span<T> dst) where T : IBinaryFloatingPointIeee754<T>
    {
        int rows4 = rows & ~3;
        for (int j = 0; j < g; j++)
        {
            T a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero;
            for (int r = 0; r < rows4; r += 4)
            {
                a0 += z[r * ld + j];
                a1 += z[(r + 1) * ld + j];
                a2 += z[(r + 2) * ld + j];
                a3 += z[(r + 3) * ld + j];
            }
            for (int r = rows4; r < rows; r++) a0 += z[r * ld + j];
            dst[j] += (a0 + a1) + (a2 + a3);
        }
    }

    // ---------------------------------------------------------------- SimpleRNN

    public static void SimpleRnnForwardStep<T>(CellActivation act, int rows, int u, Span<T> z, int ldz, Span<T> h, int ldh)
        where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                T v = z[b * ldz + j];
                h[b * ldh + j] = act switch
                {
                    CellActivation.Tanh => Tanh(v),
                    CellActivation.Relu => T.Max(v, T.Zero),
                    CellActivation.Sigmoid => Sigmoid(v),
                    _ => v,
                };
            }
    }

    public static void SimpleRnnBackwardStep<T>(CellActivation act, int rows, int u, ReadOnlySpan<T> dH, int ldH, ReadOnlySpan<T> dhNext,
        ReadOnlySpan<T> h, int ldh, Span<T> dz, int ldz) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                T g = dH[b * ldH + j] + dhNext[b * u + j], y = h[b * ldh + j];
                dz[b * ldz + j] = act switch
                {
                    CellActivation.Tanh => g * (T.One - y * y),
                    CellActivation.Sigmoid => g * y * (T.One - y),
                    CellActivation.Relu => y > T.Zero ? g : T.Zero,
                    _ => g,
                };
            }
    }

    // ---------------------------------------------------------------- LSTM

    /// <summary>The LSTM step; with <paramref name="peephole"/> (p_i, p_f, p_o) the gates also see the cell state (PeepholeLSTMCell).</summary>
    public static void LstmForwardStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> bias, ReadOnlySpan<T> cPrev, int ldPrev,
        Span<T> c, Span<T> tc, Span<T> h, int ldh, ReadOnlySpan<T> peephole = default) where T : IBinaryFloatingPointIeee754<T>
    {
        bool peep = !peephole.IsEmpty;
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T cp = cPrev[b * ldPrev + j];
                T zi = a[o + j] + bias[j], zf = a[o + u + j] + bias[u + j], zo = a[o + 3 * u + j] + bias[3 * u + j];
                if (peep)
                {
                    zi += peephole[j] * cp;
                    zf += peephole[u + j] * cp;
                }
                T i = Sigmoid(zi);
                T f = Sigmoid(zf);
                T g = Tanh(a[o + 2 * u + j] + bias[2 * u + j]);
                T cn = f * cp + i * g;
                if (peep) zo += peephole[2 * u + j] * cn;
                T og = Sigmoid(zo);
                T t = Tanh(cn);
                a[o + j] = i;
                a[o + u + j] = f;
                a[o + 2 * u + j] = g;
                a[o + 3 * u + j] = og;
                c[b * ldh + j] = cn;
                tc[b * ldh + j] = t;
                h[b * ldh + j] = og * t;
            }
    }

    public static void LstmBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, ReadOnlySpan<T> dC, ReadOnlySpan<T> dhNext, Span<T> dcNext,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> tc, ReadOnlySpan<T> cPrev, int ldPrev, Span<T> dz, ReadOnlySpan<T> peephole = default)
        where T : IBinaryFloatingPointIeee754<T>
    {
        bool peep = !peephole.IsEmpty;
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T dh = dH[b * ldh + j] + dhNext[b * u + j];
                T dc = dcNext[b * u + j];
                if (!dC.IsEmpty) dc += dC[b * ldh + j];
                T i = a[o + j], f = a[o + u + j], g = a[o + 2 * u + j], og = a[o + 3 * u + j], t = tc[b * ldh + j];
                T dog = dh * t;
                T dzo = dog * og * (T.One - og);
                dc += dh * og * (T.One - t * t);
                if (peep) dc += dzo * peephole[2 * u + j];
                T dzi = dc * g * i * (T.One - i), dzf = dc * cPrev[b * ldPrev + j] * f * (T.One - f);
                dz[o + j] = dzi;
                dz[o + u + j] = dzf;
                dz[o + 2 * u + j] = dc * i * (T.One - g * g);
                dz[o + 3 * u + j] = dzo;
                T dcPrev = dc * f;
                if (peep) dcPrev += dzi * peephole[j] + dzf * peephole[u + j];
                dcNext[b * u + j] = dcPrev;
            }
    }

    /// <summary>gp (p_i, p_f, p_o) += Σ_rows (dz_i ⊙ cPrev, dz_f ⊙ cPrev, dz_o ⊙ c) for one step.</summary>
    public static void LstmPeepholeGradient<T>(int rows, int u, ReadOnlySpan<T> dz, int ldz, ReadOnlySpan<T> cPrev, int ldPrev,
        ReadOnlySpan<T> c, int ldc, Span<T> gp) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                T cp = cPrev[b * ldPrev + j];
                gp[j] += dz[b * ldz + j] * cp;
                gp[u + j] += dz[b * ldz + u + j] * cp;
                gp[2 * u + j] += dz[b * ldz + 3 * u + j] * c[b * ldc + j];
            }
    }

    // ---------------------------------------------------------------- GRU, reset_after = true

    public static void GruForwardStepResetAfter<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> m, ReadOnlySpan<T> bh,
        ReadOnlySpan<T> hPrev, int ldPrev, Span<T> mh, Span<T> h, int ldh) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda, om = b * 3 * u;
                T z = Sigmoid(a[o + j] + (m[om + j] + bh[j]));
                T r = Sigmoid(a[o + u + j] + (m[om + u + j] + bh[u + j]));
                T mhv = m[om + 2 * u + j] + bh[2 * u + j];
                T hh = Tanh(a[o + 2 * u + j] + r * mhv);
                a[o + j] = z;
                a[o + u + j] = r;
                a[o + 2 * u + j] = hh;
                mh[b * ldh + j] = mhv;
                h[b * ldh + j] = z * hPrev[b * ldPrev + j] + (T.One - z) * hh;
            }
    }

    public static void GruBackwardStepResetAfter<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, Span<T> dhNext, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> mh, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> dz, Span<T> dm) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T dh = dH[b * ldh + j] + dhNext[b * u + j];
                T z = a[o + j], r = a[o + u + j], hh = a[o + 2 * u + j];
                T dzp = dh * (hPrev[b * ldPrev + j] - hh) * z * (T.One - z);
                T dhp = dh * (T.One - z) * (T.One - hh * hh);
                T drp = dhp * mh[b * ldh + j] * r * (T.One - r);
                dz[o + j] = dzp;
                dz[o + u + j] = drp;
                dz[o + 2 * u + j] = dhp;
                dm[o + j] = dzp;
                dm[o + u + j] = drp;
                dm[o + 2 * u + j] = dhp * r;
                dhNext[b * u + j] = dh * z;
            }
    }

    // ---------------------------------------------------------------- GRU, reset_after = false

    public static void GruGatesStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> rh, int ldrh)
        where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T z = Sigmoid(a[o + j]), r = Sigmoid(a[o + u + j]);
                a[o + j] = z;
                a[o + u + j] = r;
                rh[b * ldrh + j] = r * hPrev[b * ldPrev + j];
            }
    }

    public static void GruCandidateStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> h, int ldh)
        where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T z = a[o + j], hh = Tanh(a[o + 2 * u + j]);
                a[o + 2 * u + j] = hh;
                h[b * ldh + j] = z * hPrev[b * ldPrev + j] + (T.One - z) * hh;
            }
    }

    public static void GruCandidateBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, Span<T> dhNext, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> hPrev, int ldPrev, Span<T> dz) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T dh = dH[b * ldh + j] + dhNext[b * u + j];
                T z = a[o + j], hh = a[o + 2 * u + j];
                dz[o + j] = dh * (hPrev[b * ldPrev + j] - hh) * z * (T.One - z);
                dz[o + 2 * u + j] = dh * (T.One - z) * (T.One - hh * hh);
                dhNext[b * u + j] = dh * z;
            }
    }

    public static void GruGatesBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dRh, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev,
        Span<T> dhNext, Span<T> dz) where T : IBinaryFloatingPointIeee754<T>
    {
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < u; j++)
            {
                int o = b * lda;
                T drh = dRh[b * u + j], r = a[o + u + j];
                dz[o + u + j] = drh * hPrev[b * ldPrev + j] * r * (T.One - r);
                dhNext[b * u + j] = dhNext[b * u + j] + drh * r;
            }
    }

    // ---------------------------------------------------------------- dropout masks on rows

    public static void MaskedMultiply<T>(ReadOnlySpan<T> src, int ld, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst, int ldd)
        where T : IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++)
                dst[r * ldd + j] = src[r * ld + j] * masks[r / rowsPerMask * maskLd + j];
    }

    public static void MaskedAddMultiplied<T>(ReadOnlySpan<T> src, int lds, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst, int ld)
        where T : IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++)
            {
                T product = src[r * lds + j] * masks[r / rowsPerMask * maskLd + j];
                dst[r * ld + j] = dst[r * ld + j] + product;
            }
    }

    // ---------------------------------------------------------------- per-gate products (GateGemm)

    /// <summary>
    /// P[i, g·paddedGateWidth + j] = Σ_q a[i·lda + g·aGateStride + q] · B_g[q, j] for g &lt; usedGates, j &lt; width, each
    /// sum from zero in increasing q with one multiply-add per product (fused when the machine has FMA, as the SIMD
    /// kernels); B_g[q, j] = b[q·ldb + g·width + j], or b[j·ldb + g·red + q] when transposed.
    /// </summary>
    public static void GateProduct<T>(int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> b, int ldb, bool transposed, Span<T> p, int ldp, int paddedGateWidth)
        where T : IBinaryFloatingPointIeee754<T>
    {
        for (int g = 0; g < usedGates; g++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < width; j++)
                {
                    T sum = T.Zero;
                    for (int q = 0; q < red; q++)
                    {
                        T bv = transposed ? b[j * ldb + g * red + q] : b[q * ldb + g * width + j];
                        T av = a[i * lda + g * aGateStride + q];
                        sum = System.Runtime.Intrinsics.X86.Fma.IsSupported ? T.FusedMultiplyAdd(av, bv, sum) : av * bv + sum;
                    }
                    p[i * ldp + g * paddedGateWidth + j] = sum;
                }
    }
}
