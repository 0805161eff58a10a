using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;
using Lanes1 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Scalar<float>>;
using Lanes4 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd128<float>>;
using Lanes8 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd256<float>>;
using Lanes16 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd512<float>>;

namespace Rnnx.Kernels;

/// <summary>The per-step element-wise kernels of the fused GRU sequence, both reset_after forms (spans and integers; gate rows strided by their leading dimensions).</summary>
internal static class GruKernels
{
    /// <summary>
    /// m (rows × 3U, contiguous) = h·R; in place on a: [x_z, x_r, x_h] → [z, r, ĥ]; mh = m_h + b_h; h' = z ⊙ h + (1 − z) ⊙ ĥ.
    /// </summary>
    internal static void ForwardStepResetAfter<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> m, ReadOnlySpan<T> bh,
        ReadOnlySpan<T> hPrev, int ldPrev, Span<T> mh, Span<T> h, int ldh) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pm = ref FirstAs<T, float>(m);
            ref float pb = ref FirstAs<T, float>(bh);
            ref float pp = ref FirstAs<T, float>(hPrev);
            ref float pmh = ref FirstAs<T, float>(mh);
            ref float ph = ref FirstAs<T, float>(h);
            int paired = PairedRows(rows, j8, j4);
            FwdRA<float, Simd512<float>, Lanes16>(0, rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, 0, j16);
            FwdRA<float, Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, j16, j8);
            FwdRA<float, Simd256<float>, RowPair>(0, paired, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, j8, j4);
            FwdRA<float, Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, j8, j4);
            FwdRA<float, Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, ref pm, ref pb, ref pp, ldPrev, ref pmh, ref ph, ldh, j4, u);
        }
        else
        {
            FwdRA<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(m), ref FirstAs<T, double>(bh), ref FirstAs<T, double>(hPrev), ldPrev,
                ref FirstAs<T, double>(mh), ref FirstAs<T, double>(h), ldh, 0, u);
        }
    }

    private static void FwdRA<T, V, L>(int b0, int b1, int u, ref T a, int lda, ref T m, ref T bh, ref T hPrev, int ldPrev, ref T mh, ref T h, int ldh, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T mr = ref Unsafe.Add(ref m, (nint)b * 3 * u);
            ref T mr2 = ref Unsafe.Add(ref m, (nint)b2 * 3 * u);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref T mhr = ref Unsafe.Add(ref mh, (nint)b * ldh);
            ref T mhr2 = ref Unsafe.Add(ref mh, (nint)b2 * ldh);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref T hr2 = ref Unsafe.Add(ref h, (nint)b2 * ldh);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jr = j + u, jh = j + 2 * u;
                GatesResetAfter<T, V, L>(L.Load(ref ar, ref ar2, j), L.Load(ref ar, ref ar2, jr), L.Load(ref ar, ref ar2, jh), ref mr, ref mr2, ref bh, j, u,
                    out var z, out var r, out var mhv, out var hh);
                var hp = L.Load(ref pr, ref pr2, j);
                L.Store(z, ref ar, ref ar2, j);
                L.Store(r, ref ar, ref ar2, jr);
                L.Store(hh, ref ar, ref ar2, jh);
                L.Store(mhv, ref mhr, ref mhr2, j);
                L.Store(z * hp + (V.One - z) * hh, ref hr, ref hr2, j);
            }
        }
    }

    /// <summary>
    /// <see cref="ForwardStepResetAfter{T}"/> for inference: writes only h' (no gate activations or m_h are kept for a
    /// backward pass, and a is not written). With <paramref name="bx"/> (3U; empty for none) a holds x·W and each x_* is
    /// x·W + b_x, added as it is loaded: the addition <see cref="RecurrentKernels.AddBiasRows{T}"/> would make in a pass
    /// of its own. Float32 only; the same operations per element, so the same numbers.
    /// </summary>
    internal static void InferenceStepResetAfter(int rows, int u, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> bx, ReadOnlySpan<float> m,
        ReadOnlySpan<float> bh, ReadOnlySpan<float> hPrev, int ldPrev, Span<float> h, int ldh)
    {
        // checked in Release: the loops below read and write through raw references
        if (rows < 0 || u < 0 || (rows > 0 && !(a.Length >= (long)(rows - 1) * lda + 3 * u && m.Length >= (long)rows * 3 * u && bh.Length >= 3 * u
            && (bx.IsEmpty || bx.Length >= 3 * u) && hPrev.Length >= (long)(rows - 1) * ldPrev + u && h.Length >= (long)(rows - 1) * ldh + u)))
            throw new ArgumentException($"GruKernels.InferenceStepResetAfter: spans too short (or negative sizes) for {rows} rows of {u} units.");
        bool hasBx = !bx.IsEmpty;
        if (!hasBx) bx = bh;   // any valid reference; not read
        var (j8, j4) = SplitFloat(u);
        int j16 = SplitFloat16(u);
        ref float pbx = ref FirstAs<float, float>(bx);
        ref float pa = ref FirstAs<float, float>(a);
        ref float pm = ref FirstAs<float, float>(m);
        ref float pb = ref FirstAs<float, float>(bh);
        ref float pp = ref FirstAs<float, float>(hPrev);
        ref float ph = ref FirstAs<float, float>(h);
        int paired = PairedRows(rows, j8, j4);
        InferRA<Simd512<float>, Lanes16>(0, rows, u, ref pa, lda, hasBx, ref pbx, ref pm, ref pb, ref pp, ldPrev, ref ph, ldh, 0, j16);
        InferRA<Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, hasBx, ref pbx, ref pm, ref pb, ref pp, ldPrev, ref ph, ldh, j16, j8);
        InferRA<Simd256<float>, RowPair>(0, paired, u, ref pa, lda, hasBx, ref pbx, ref pm, ref pb, ref pp, ldPrev, ref ph, ldh, j8, j4);
        InferRA<Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, hasBx, ref pbx, ref pm, ref pb, ref pp, ldPrev, ref ph, ldh, j8, j4);
        InferRA<Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, hasBx, ref pbx, ref pm, ref pb, ref pp, ldPrev, ref ph, ldh, j4, u);
    }

    // kept out of its caller: four inlined instantiations can exceed the JIT's inlining budget, the vector operations
    // then become calls (the guard GruInferenceStepBenchmarks ran 6x slower so)
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InferRA<V, L>(int b0, int b1, int u, ref float a, int lda, bool hasBx, ref float bx, ref float m, ref float bh, ref float hPrev, int ldPrev,
        ref float h, int ldh, int j0, int j1)
        where V : struct, ISimdMath<V, float> where L : IRowLanes<float, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref float ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref float ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref float mr = ref Unsafe.Add(ref m, (nint)b * 3 * u);
            ref float mr2 = ref Unsafe.Add(ref m, (nint)b2 * 3 * u);
            ref float pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref float pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref float hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref float hr2 = ref Unsafe.Add(ref h, (nint)b2 * ldh);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jr = j + u, jh = j + 2 * u;
                V xz = L.Load(ref ar, ref ar2, j), xr = L.Load(ref ar, ref ar2, jr), xh = L.Load(ref ar, ref ar2, jh);
                if (hasBx)
                {
                    xz += L.LoadShared(ref bx, j);
                    xr += L.LoadShared(ref bx, jr);
                    xh += L.LoadShared(ref bx, jh);
                }
                GatesResetAfter<float, V, L>(xz, xr, xh, ref mr, ref mr2, ref bh, j, u, out var z, out _, out _, out var hh);
                L.Store(z * L.Load(ref pr, ref pr2, j) + (V.One - z) * hh, ref hr, ref hr2, j);
            }
        }
    }

    /// <summary>
    /// The reset_after gates of units [j, j + V.Count / L.Rows) of the row(s) from their x_* (shared by the training and
    /// inference steps): z = σ(x_z + (m_z + b_z)), r = σ(x_r + (m_r + b_r)), m_h + b_h, ĥ = tanh(x_h + r ⊙ (m_h + b_h)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatesResetAfter<T, V, L>(V xz, V xr, V xh, ref T m, ref T m2, ref T bh, int j, int u, out V z, out V r, out V mhv, out V hh)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        nint jr = j + u, jh = j + 2 * u;
        z = V.Sigmoid(xz + (L.Load(ref m, ref m2, j) + L.LoadShared(ref bh, j)));
        r = V.Sigmoid(xr + (L.Load(ref m, ref m2, jr) + L.LoadShared(ref bh, jr)));
        mhv = L.Load(ref m, ref m2, jh) + L.LoadShared(ref bh, jh);
        hh = V.Tanh(xh + r * mhv);
    }

    /// <summary>
    /// dh = dH + dhNext; dz_pre = dh ⊙ (h − ĥ) ⊙ z(1−z); dĥ_pre = dh ⊙ (1 − z) ⊙ (1 − ĥ²); dr_pre = dĥ_pre ⊙ m_h ⊙ r(1−r);
    /// dZ = [dz_pre, dr_pre, dĥ_pre], dM = [dz_pre, dr_pre, dĥ_pre ⊙ r]; dhNext = dh ⊙ z (the caller adds dM·Rᵀ).
    /// </summary>
    internal static void BackwardStepResetAfter<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, Span<T> dhNext, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> mh, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> dz, Span<T> dm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pdH = ref FirstAs<T, float>(dH);
            ref float pdn = ref FirstAs<T, float>(dhNext);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pmh = ref FirstAs<T, float>(mh);
            ref float pp = ref FirstAs<T, float>(hPrev);
            ref float pdz = ref FirstAs<T, float>(dz);
            ref float pdm = ref FirstAs<T, float>(dm);
            // no row pairs here: the backward math is light, and joining and splitting the halves costs what the
            // shared evaluation saves (measured: docs/performance.md)
            BwdRA<float, Simd512<float>, Lanes16>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, 0, j16);
            BwdRA<float, Simd256<float>, Lanes8>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, j16, j8);
            BwdRA<float, Simd128<float>, Lanes4>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, j8, j4);
            BwdRA<float, Scalar<float>, Lanes1>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pmh, ref pp, ldPrev, ref pdz, ref pdm, j4, u);
        }
        else
        {
            BwdRA<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(dH), ldh, ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(mh),
                ref FirstAs<T, double>(hPrev), ldPrev, ref FirstAs<T, double>(dz), ref FirstAs<T, double>(dm), 0, u);
        }
    }

    private static void BwdRA<T, V, L>(int b0, int b1, int u, ref T dH, int ldh, ref T dhNext, ref T a, int lda, ref T mh, ref T hPrev, int ldPrev,
        ref T dz, ref T dm, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldh);
            ref T dHr2 = ref Unsafe.Add(ref dH, (nint)b2 * ldh);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T dnr2 = ref Unsafe.Add(ref dhNext, (nint)b2 * u);
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T mhr = ref Unsafe.Add(ref mh, (nint)b * ldh);
            ref T mhr2 = ref Unsafe.Add(ref mh, (nint)b2 * ldh);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * lda);
            ref T dzr2 = ref Unsafe.Add(ref dz, (nint)b2 * lda);
            ref T dmr = ref Unsafe.Add(ref dm, (nint)b * lda);
            ref T dmr2 = ref Unsafe.Add(ref dm, (nint)b2 * lda);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jr = j + u, jh = j + 2 * u;
                var dh = L.Load(ref dHr, ref dHr2, j) + L.Load(ref dnr, ref dnr2, j);
                var z = L.Load(ref ar, ref ar2, j);
                var r = L.Load(ref ar, ref ar2, jr);
                var hh = L.Load(ref ar, ref ar2, jh);
                var dzp = dh * (L.Load(ref pr, ref pr2, j) - hh) * z * (V.One - z);
                var dhp = dh * (V.One - z) * (V.One - hh * hh);
                var drp = dhp * L.Load(ref mhr, ref mhr2, j) * r * (V.One - r);
                L.Store(dzp, ref dzr, ref dzr2, j);
                L.Store(drp, ref dzr, ref dzr2, jr);
                L.Store(dhp, ref dzr, ref dzr2, jh);
                L.Store(dzp, ref dmr, ref dmr2, j);
                L.Store(drp, ref dmr, ref dmr2, jr);
                L.Store(dhp * r, ref dmr, ref dmr2, jh);
                L.Store(dh * z, ref dnr, ref dnr2, j);
            }
        }
    }

    // ---------------------------------------------------------------- reset_after = false kernels

    /// <summary>In place on a: [x_z + h·R_z, x_r + h·R_r] → [z, r]; rh = r ⊙ h.</summary>
    internal static void GatesStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> rh, int ldrh) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pp = ref FirstAs<T, float>(hPrev);
            ref float prh = ref FirstAs<T, float>(rh);
            int paired = PairedRows(rows, j8, j4);
            Gates<float, Simd512<float>, Lanes16>(0, rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, 0, j16);
            Gates<float, Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, j16, j8);
            Gates<float, Simd256<float>, RowPair>(0, paired, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, j8, j4);
            Gates<float, Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, j8, j4);
            Gates<float, Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, ref pp, ldPrev, ref prh, ldrh, j4, u);
        }
        else Gates<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(hPrev), ldPrev, ref FirstAs<T, double>(rh), ldrh, 0, u);
    }

    private static void Gates<T, V, L>(int b0, int b1, int u, ref T a, int lda, ref T hPrev, int ldPrev, ref T rh, int ldrh, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref T rhr = ref Unsafe.Add(ref rh, (nint)b * ldrh);
            ref T rhr2 = ref Unsafe.Add(ref rh, (nint)b2 * ldrh);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jr = j + u;
                var z = V.Sigmoid(L.Load(ref ar, ref ar2, j));
                var r = V.Sigmoid(L.Load(ref ar, ref ar2, jr));
                L.Store(z, ref ar, ref ar2, j);
                L.Store(r, ref ar, ref ar2, jr);
                L.Store(r * L.Load(ref pr, ref pr2, j), ref rhr, ref rhr2, j);
            }
        }
    }

    /// <summary>In place on a: x_h + (r ⊙ h)·R_h → ĥ = tanh(·); h' = z ⊙ h + (1 − z) ⊙ ĥ.</summary>
    internal static void CandidateStep<T>(int rows, int u, Span<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev, Span<T> h, int ldh) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pp = ref FirstAs<T, float>(hPrev);
            ref float ph = ref FirstAs<T, float>(h);
            int paired = PairedRows(rows, j8, j4);
            Candidate<float, Simd512<float>, Lanes16>(0, rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, 0, j16);
            Candidate<float, Simd256<float>, Lanes8>(0, rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, j16, j8);
            Candidate<float, Simd256<float>, RowPair>(0, paired, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, j8, j4);
            Candidate<float, Simd128<float>, Lanes4>(paired, rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, j8, j4);
            Candidate<float, Scalar<float>, Lanes1>(0, rows, u, ref pa, lda, ref pp, ldPrev, ref ph, ldh, j4, u);
        }
        else Candidate<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(hPrev), ldPrev, ref FirstAs<T, double>(h), ldh, 0, u);
    }

    private static void Candidate<T, V, L>(int b0, int b1, int u, ref T a, int lda, ref T hPrev, int ldPrev, ref T h, int ldh, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref T hr2 = ref Unsafe.Add(ref h, (nint)b2 * ldh);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jh = j + 2 * u;
                var z = L.Load(ref ar, ref ar2, j);
                var hh = V.Tanh(L.Load(ref ar, ref ar2, jh));
                L.Store(hh, ref ar, ref ar2, jh);
                L.Store(z * L.Load(ref pr, ref pr2, j) + (V.One - z) * hh, ref hr, ref hr2, j);
            }
        }
    }

    /// <summary>
    /// dh = dH + dhNext; dZ_z = dh ⊙ (h − ĥ) ⊙ z(1−z); dZ_h = dh ⊙ (1 − z) ⊙ (1 − ĥ²); dhNext = dh ⊙ z.
    /// </summary>
    internal static void CandidateBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dH, int ldh, Span<T> dhNext, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> hPrev, int ldPrev, Span<T> dz) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pdH = ref FirstAs<T, float>(dH);
            ref float pdn = ref FirstAs<T, float>(dhNext);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pp = ref FirstAs<T, float>(hPrev);
            ref float pdz = ref FirstAs<T, float>(dz);
            // no row pairs here: the backward math is light, and joining and splitting the halves costs what the
            // shared evaluation saves (measured: docs/performance.md)
            CandidateBwd<float, Simd512<float>, Lanes16>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, 0, j16);
            CandidateBwd<float, Simd256<float>, Lanes8>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, j16, j8);
            CandidateBwd<float, Simd128<float>, Lanes4>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, j8, j4);
            CandidateBwd<float, Scalar<float>, Lanes1>(0, rows, u, ref pdH, ldh, ref pdn, ref pa, lda, ref pp, ldPrev, ref pdz, j4, u);
        }
        else
        {
            CandidateBwd<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(dH), ldh, ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(a), lda,
                ref FirstAs<T, double>(hPrev), ldPrev, ref FirstAs<T, double>(dz), 0, u);
        }
    }

    private static void CandidateBwd<T, V, L>(int b0, int b1, int u, ref T dH, int ldh, ref T dhNext, ref T a, int lda, ref T hPrev, int ldPrev, ref T dz, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldh);
            ref T dHr2 = ref Unsafe.Add(ref dH, (nint)b2 * ldh);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T dnr2 = ref Unsafe.Add(ref dhNext, (nint)b2 * u);
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * lda);
            ref T dzr2 = ref Unsafe.Add(ref dz, (nint)b2 * lda);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jh = j + 2 * u;
                var dh = L.Load(ref dHr, ref dHr2, j) + L.Load(ref dnr, ref dnr2, j);
                var z = L.Load(ref ar, ref ar2, j);
                var hh = L.Load(ref ar, ref ar2, jh);
                L.Store(dh * (L.Load(ref pr, ref pr2, j) - hh) * z * (V.One - z), ref dzr, ref dzr2, j);
                L.Store(dh * (V.One - z) * (V.One - hh * hh), ref dzr, ref dzr2, jh);
                L.Store(dh * z, ref dnr, ref dnr2, j);
            }
        }
    }

    /// <summary>Given d(r ⊙ h) (rows × U, contiguous): dZ_r = d(rh) ⊙ h ⊙ r(1−r); dhNext += d(rh) ⊙ r.</summary>
    internal static void GatesBackwardStep<T>(int rows, int u, ReadOnlySpan<T> dRh, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> hPrev, int ldPrev,
        Span<T> dhNext, Span<T> dz) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float prh = ref FirstAs<T, float>(dRh);
            ref float pa = ref FirstAs<T, float>(a);
            ref float pp = ref FirstAs<T, float>(hPrev);
            ref float pdn = ref FirstAs<T, float>(dhNext);
            ref float pdz = ref FirstAs<T, float>(dz);
            // no row pairs here: the backward math is light, and joining and splitting the halves costs what the
            // shared evaluation saves (measured: docs/performance.md)
            GatesBwd<float, Simd512<float>, Lanes16>(0, rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, 0, j16);
            GatesBwd<float, Simd256<float>, Lanes8>(0, rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, j16, j8);
            GatesBwd<float, Simd128<float>, Lanes4>(0, rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, j8, j4);
            GatesBwd<float, Scalar<float>, Lanes1>(0, rows, u, ref prh, ref pa, lda, ref pp, ldPrev, ref pdn, ref pdz, j4, u);
        }
        else
        {
            GatesBwd<double, Scalar<double>, OneRow<double, Scalar<double>>>(0, rows, u, ref FirstAs<T, double>(dRh), ref FirstAs<T, double>(a), lda, ref FirstAs<T, double>(hPrev), ldPrev,
                ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(dz), 0, u);
        }
    }

    private static void GatesBwd<T, V, L>(int b0, int b1, int u, ref T dRh, ref T a, int lda, ref T hPrev, int ldPrev, ref T dhNext, ref T dz, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T drr = ref Unsafe.Add(ref dRh, (nint)b * u);
            ref T drr2 = ref Unsafe.Add(ref dRh, (nint)b2 * u);
            ref T ar = ref Unsafe.Add(ref a, (nint)b * lda);
            ref T ar2 = ref Unsafe.Add(ref a, (nint)b2 * lda);
            ref T pr = ref Unsafe.Add(ref hPrev, (nint)b * ldPrev);
            ref T pr2 = ref Unsafe.Add(ref hPrev, (nint)b2 * ldPrev);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T dnr2 = ref Unsafe.Add(ref dhNext, (nint)b2 * u);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * lda);
            ref T dzr2 = ref Unsafe.Add(ref dz, (nint)b2 * lda);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                nint jr = j + u;
                var drh = L.Load(ref drr, ref drr2, j);
                var r = L.Load(ref ar, ref ar2, jr);
                L.Store(drh * L.Load(ref pr, ref pr2, j) * r * (V.One - r), ref dzr, ref dzr2, jr);
                L.Store(L.Load(ref dnr, ref dnr2, j) + drh * r, ref dnr, ref dnr2, j);
            }
        }
    }
}
