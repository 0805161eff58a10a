using System.Diagnostics;
using System.Numerics;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// The weight gradients of a sequence op, which all read the same dZ (k = B·T rows x n = gates·U columns):
/// C₁ += A₁ᵀ·dZ (the kernel's, A₁ = x), C₂ += A₂ᵀ·dZ (the recurrent kernel's, A₂ = the previous states) and the bias
/// gradient, dZ's column sums. <see cref="MatMulKernels.Gemm{T}"/> would pack each k block of dZ into panels once per
/// product and the column sums would read dZ a third time; here each k block is packed once, the column sums are
/// taken in that same pass, and both products run on the packed block.
/// <para>
/// Bit for bit what the separate calls give: each product runs on the packed-panel engine with the same k blocks,
/// plans and accumulation as <see cref="MatMulKernels.Gemm{T}"/>'s panel path (a product that would not take that
/// path is handed to <see cref="MatMulKernels.Gemm{T}"/> itself), and each column's sum adds the same rows into the same
/// one of four accumulators in the same order as <see cref="RecurrentKernels.AddColumnSums{T}"/> (lane-wise adds, so
/// the vector width does not matter), the accumulators kept in memory between rows.
/// </para>
/// </summary>
internal static unsafe class WeightGradientGemm
{
    /// <summary>
    /// c1 (m1 x n, row stride n) += a1ᵀ·dz with a1 stored k x m1 (row stride lda1); the same for c2 (skipped when
    /// empty); columnSums (n) += the column sums of dz's k rows (skipped when empty). dz is k x n with row stride ldz.
    /// </summary>
    public static void Run<T>(int k, int n, ReadOnlySpan<T> dz, int ldz,
        int m1, ReadOnlySpan<T> a1, int lda1, Span<T> c1,
        int m2, ReadOnlySpan<T> a2, int lda2, Span<T> c2,
        Span<T> columnSums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        GemmArguments.CheckMatrix("WeightGradientGemm.Run", k, n, dz.Length, ldz, nameof(dz), nameof(ldz));
        bool want1 = !c1.IsEmpty, want2 = !c2.IsEmpty, wantSums = !columnSums.IsEmpty;
        if (want1) CheckProduct(k, n, m1, a1, lda1, c1, nameof(a1), nameof(c1));
        if (want2) CheckProduct(k, n, m2, a2, lda2, c2, nameof(a2), nameof(c2));
        if (wantSums && columnSums.Length < n)
            throw new ArgumentException($"WeightGradientGemm.Run: the column sums hold {columnSums.Length} elements, dz has {n} columns.", nameof(columnSums));
        bool shared1 = want1 && Shares<T>(m1, n, k), shared2 = want2 && Shares<T>(m2, n, k);
        if (want1 && !shared1) MatMulKernels.Gemm(true, false, m1, n, k, a1, lda1, dz, ldz, c1, n, true);
        if (want2 && !shared2) MatMulKernels.Gemm(true, false, m2, n, k, a2, lda2, dz, ldz, c2, n, true);
        if (!shared1 && !shared2)
        {
            if (wantSums) RecurrentKernels.AddColumnSums(dz, k, n, ldz, columnSums);
            return;
        }
        int nr = PackedGemmCore.PanelWidth<T>(n);
        int panels = PackedGemmCore.Panels(n, nr);
        int packedLength = PackedGemmCore.PackedLength<T>(Math.Min(k, GemmCore.KBlock), n);
        // Held across the k blocks (packed dZ, sums): nothing called below may take this thread's KernelScratch.
        T[] scratch = KernelScratch<T>.Get(packedLength + (wantSums ? 4 * n : 0));
        fixed (T* pz = dz)
        fixed (T* pa1 = a1)
        fixed (T* pa2 = a2)
        fixed (T* pc1 = c1)
        fixed (T* pc2 = c2)
        fixed (T* packed = scratch)
        {
            T* sums = packed + packedLength;
            if (wantSums) new Span<T>(sums, 4 * n).Clear();
            int rows4 = k & ~3;
            for (int q0 = 0; q0 < k; q0 += GemmCore.KBlock)
            {
                int kq = Math.Min(GemmCore.KBlock, k - q0);
                if (wantSums) PackSumming(q0, kq, n, nr, rows4, pz + (nint)q0 * ldz, ldz, packed, sums);
                else PackedGemmCore.Pack(false, kq, n, pz + (nint)q0 * ldz, ldz, packed);
                if (shared1) ParallelGemm.RunPacked(BlockPlan(m1, n, kq, pa1 + (nint)q0 * lda1, lda1, packed, pc1, panels));
                if (shared2) ParallelGemm.RunPacked(BlockPlan(m2, n, kq, pa2 + (nint)q0 * lda2, lda2, packed, pc2, panels));
            }
            if (wantSums) AddSums(n, sums, columnSums);
        }
    }

    /// <summary>Whether <see cref="MatMulKernels.Gemm{T}"/> would run this Aᵀ·dZ on the panel engine (else it is called for it).</summary>
    private static bool Shares<T>(int m, int n, int k) where T : unmanaged
        => k > 0 && m > 1 && n > 1 && MatMulKernels.PanelsPay<T>(false, m, n);

    private static void CheckProduct<T>(int k, int n, int m, ReadOnlySpan<T> a, int lda, Span<T> c, string aName, string cName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        GemmArguments.CheckMatrix("WeightGradientGemm.Run", k, m, a.Length, lda, aName, "lda");
        GemmArguments.CheckMatrix("WeightGradientGemm.Run", m, n, c.Length, n, cName, "n");
    }

    /// <summary>One k block of one product, as <see cref="MatMulKernels"/>' panel path plans it (C accumulated).</summary>
    private static PackedPlan<T> BlockPlan<T>(int m, int n, int kq, T* a, int lda, T* panels, T* c, int panelCount) where T : unmanaged
        => new()
        {
            M = m, N = n, K = kq, A = a, ARow = 1, AStep = lda, B = panels, C = c, Ldc = n,
            Accumulate = true, RowStart = 0, RowEnd = m, PanelStart = 0, PanelEnd = panelCount,
        };

    /// <summary>
    /// Packs rows [q0, q0 + kq) of dz into panels (the layout of <see cref="PackedGemmCore.Pack{T}"/>) and adds each
    /// row into its column-sum accumulator: row r into accumulator r mod 4, the rows past the last multiple of four
    /// (<paramref name="rows4"/>) into accumulator 0 (<see cref="RecurrentKernels.AddColumnSums{T}"/>' order).
    /// </summary>
    private static void PackSumming<T>(int q0, int kq, int n, int nr, int rows4, T* src, nint ldz, T* packed, T* sums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // the panel layout exists only with 128- or 256-bit vectors (PackedGemmCore.Width), one panel row = 2 of them
        if (Vector256.IsHardwareAccelerated)
            PackSumming<T, Vector256<T>, Simd256<T>>(q0, kq, n, nr, rows4, src, ldz, packed, sums);
        else
            PackSumming<T, Vector128<T>, Simd128<T>>(q0, kq, n, nr, rows4, src, ldz, packed, sums);
    }

    private static void PackSumming<T, TVec, TOps>(int q0, int kq, int n, int nr, int rows4, T* src, nint ldz, T* packed, T* sums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        Debug.Assert(nr == 2 * TOps.Count);
        int w = TOps.Count, full = n / nr, rest = n - full * nr;
        nint panelSize = (nint)kq * nr;
        for (int p = 0; p < kq; p++, src += ldz)
        {
            int r = q0 + p;
            T* acc = sums + (r < rows4 ? (r & 3) : 0) * n;
            T* dst = packed + (nint)p * nr;
            for (int j = 0; j < full; j++)
            {
                T* s = src + j * nr, d = dst + j * panelSize, a = acc + j * nr;
                TVec v0 = TOps.Load(s), v1 = TOps.Load(s + w);
                TOps.Store(d, v0);
                TOps.Store(d + w, v1);
                TOps.Store(a, TOps.Add(TOps.Load(a), v0));
                TOps.Store(a + w, TOps.Add(TOps.Load(a + w), v1));
            }
            if (rest > 0)
            {
                T* s = src + full * nr, d = dst + full * panelSize, a = acc + full * nr;
                for (int i = 0; i < rest; i++)
                {
                    d[i] = s[i];
                    a[i] += s[i];
                }
                new Span<T>(d + rest, nr - rest).Clear();
            }
        }
    }

    /// <summary>columnSums[j] += (a0[j] + a1[j]) + (a2[j] + a3[j]), the four accumulators n apart.</summary>
    private static void AddSums<T>(int n, T* sums, Span<T> columnSums) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T* a0 = sums, a1 = a0 + n, a2 = a1 + n, a3 = a2 + n;
        for (int j = 0; j < n; j++)
            columnSums[j] += (a0[j] + a1[j]) + (a2[j] + a3[j]);
    }
}
