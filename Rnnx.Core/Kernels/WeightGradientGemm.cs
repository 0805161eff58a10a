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
        if (!c1.IsEmpty) CheckProduct(k, m1, a1, lda1, c1, n, n, nameof(a1), nameof(c1));
        if (!c2.IsEmpty) CheckProduct(k, m2, a2, lda2, c2, n, n, nameof(a2), nameof(c2));
        CheckSums(n, columnSums);
        RunChecked(k, n, dz, ldz, new WeightProduct<T>(m1, a1, lda1, c1, n, 0, n), new WeightProduct<T>(m2, a2, lda2, c2, n, 0, n), default, columnSums);
    }

    /// <summary>
    /// Up to three products, each over a range of dz's columns (<see cref="WeightProduct{T}"/>; one with an empty C is
    /// skipped), and columnSums (n) += the column sums of all of dz's k rows (skipped when empty). dz is k x n with row
    /// stride ldz. A product shares the packed blocks of dz when its column range starts and ends on a panel boundary
    /// (or at n) and it would take the panel path on its own; otherwise it is handed to <see cref="MatMulKernels.Gemm{T}"/>.
    /// Either way each product gives the bits of <see cref="MatMulKernels.Gemm{T}"/> on its columns of dz.
    /// </summary>
    public static void Run<T>(int k, int n, ReadOnlySpan<T> dz, int ldz,
        scoped in WeightProduct<T> p1, scoped in WeightProduct<T> p2, scoped in WeightProduct<T> p3, Span<T> columnSums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        GemmArguments.CheckMatrix("WeightGradientGemm.Run", k, n, dz.Length, ldz, nameof(dz), nameof(ldz));
        CheckProduct(k, n, p1, nameof(p1));
        CheckProduct(k, n, p2, nameof(p2));
        CheckProduct(k, n, p3, nameof(p3));
        CheckSums(n, columnSums);
        RunChecked(k, n, dz, ldz, p1, p2, p3, columnSums);
    }

    private static void RunChecked<T>(int k, int n, ReadOnlySpan<T> dz, int ldz,
        scoped in WeightProduct<T> p1, scoped in WeightProduct<T> p2, scoped in WeightProduct<T> p3, Span<T> columnSums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool wantSums = !columnSums.IsEmpty;
        int nr = PackedGemmCore.PanelWidth<T>(n);
        bool shared1 = Shares(k, n, nr, p1), shared2 = Shares(k, n, nr, p2), shared3 = Shares(k, n, nr, p3);
        if (!shared1) Separately(k, dz, ldz, p1);
        if (!shared2) Separately(k, dz, ldz, p2);
        if (!shared3) Separately(k, dz, ldz, p3);
        if (!shared1 && !shared2 && !shared3)
        {
            if (wantSums) RecurrentKernels.AddColumnSums(dz, k, n, ldz, columnSums);
            return;
        }
        int packedLength = PackedGemmCore.PackedLength<T>(Math.Min(k, GemmCore.KBlock), n);
        // Held across the k blocks (packed dZ, sums): nothing called below may take this thread's KernelScratch.
        Span<T> scratch = KernelScratch<T>.Get(packedLength + (wantSums ? 4 * n : 0));
        fixed (T* pz = dz)
        fixed (T* pa1 = p1.A)
        fixed (T* pa2 = p2.A)
        fixed (T* pa3 = p3.A)
        fixed (T* pc1 = p1.C)
        fixed (T* pc2 = p2.C)
        fixed (T* pc3 = p3.C)
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
                if (shared1) ParallelGemm.RunPacked(BlockPlan(p1, kq, nr, pa1 + (nint)q0 * p1.Lda, packed, pc1));
                if (shared2) ParallelGemm.RunPacked(BlockPlan(p2, kq, nr, pa2 + (nint)q0 * p2.Lda, packed, pc2));
                if (shared3) ParallelGemm.RunPacked(BlockPlan(p3, kq, nr, pa3 + (nint)q0 * p3.Lda, packed, pc3));
            }
            if (wantSums) AddSums(n, sums, columnSums);
        }
    }

    /// <summary>
    /// Whether this product runs on the shared packed blocks: <see cref="MatMulKernels.Gemm{T}"/> would run it on the
    /// panel engine with panels as wide as dz's, and its columns are whole panels of dz's packing (the last may end at n).
    /// </summary>
    private static bool Shares<T>(int k, int n, int nr, scoped in WeightProduct<T> p) where T : unmanaged
    {
        int width = p.ColumnEnd - p.ColumnStart;
        return !p.C.IsEmpty && k > 0 && p.M > 1 && width > 1 && nr != 0 && MatMulKernels.PanelsPay<T>(false, p.M, width)
            && PackedGemmCore.PanelWidth<T>(width) == nr && p.ColumnStart % nr == 0 && (p.ColumnEnd % nr == 0 || p.ColumnEnd == n);
    }

    /// <summary>A product that does not share the packed blocks, as its own <see cref="MatMulKernels.Gemm{T}"/> call.</summary>
    private static void Separately<T>(int k, ReadOnlySpan<T> dz, int ldz, scoped in WeightProduct<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (p.C.IsEmpty) return;
        MatMulKernels.Gemm(true, false, p.M, p.ColumnEnd - p.ColumnStart, k, p.A, p.Lda, dz[p.ColumnStart..], ldz, p.C, p.Ldc, true);
    }

    private static void CheckProduct<T>(int k, int n, scoped in WeightProduct<T> p, string name) where T : unmanaged
    {
        if (p.C.IsEmpty) return;
        if (p.ColumnStart < 0 || p.ColumnEnd > n || p.ColumnStart > p.ColumnEnd)
            throw new ArgumentException($"WeightGradientGemm.Run: columns [{p.ColumnStart}, {p.ColumnEnd}) are not within dz's {n} columns.", name);
        CheckProduct(k, p.M, p.A, p.Lda, p.C, p.Ldc, p.ColumnEnd - p.ColumnStart, name, name);
    }

    private static void CheckSums<T>(int n, Span<T> columnSums)
    {
        if (!columnSums.IsEmpty && columnSums.Length < n)
            throw new ArgumentException($"WeightGradientGemm.Run: the column sums hold {columnSums.Length} elements, dz has {n} columns.", nameof(columnSums));
    }

    private static void CheckProduct<T>(int k, int m, ReadOnlySpan<T> a, int lda, Span<T> c, int ldc, int width, string aName, string cName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        GemmArguments.CheckMatrix("WeightGradientGemm.Run", k, m, a.Length, lda, aName, "lda");
        GemmArguments.CheckMatrix("WeightGradientGemm.Run", m, width, c.Length, ldc, cName, "ldc");
    }

    /// <summary>One k block of one product, as <see cref="MatMulKernels"/>' panel path plans it (C accumulated): its panels start at its first column's.</summary>
    private static PackedPlan<T> BlockPlan<T>(scoped in WeightProduct<T> p, int kq, int nr, T* a, T* packed, T* c) where T : unmanaged
    {
        int width = p.ColumnEnd - p.ColumnStart;
        return new()
        {
            M = p.M, N = width, K = kq, A = a, ARow = 1, AStep = p.Lda, B = packed + (nint)(p.ColumnStart / nr) * kq * nr, C = c, Ldc = p.Ldc,
            Accumulate = true, RowStart = 0, RowEnd = p.M, PanelStart = 0, PanelEnd = PackedGemmCore.Panels(width, nr),
        };
    }

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

/// <summary>
/// One product of <see cref="WeightGradientGemm"/>: C (m x (columnEnd − columnStart), row stride ldc) += Aᵀ·dz[:, columnStart..columnEnd),
/// A stored k x m (row stride lda). An empty C: no product.
/// </summary>
internal readonly ref struct WeightProduct<T> where T : unmanaged
{
    /// <summary>A product over dz's columns [columnStart, columnEnd).</summary>
    public WeightProduct(int m, ReadOnlySpan<T> a, int lda, Span<T> c, int ldc, int columnStart, int columnEnd)
    {
        M = m;
        A = a;
        Lda = lda;
        C = c;
        Ldc = ldc;
        ColumnStart = columnStart;
        ColumnEnd = columnEnd;
    }

    /// <summary>Rows of C (columns of A).</summary>
    public int M { get; }

    /// <summary>A, k x m.</summary>
    public ReadOnlySpan<T> A { get; }

    /// <summary>Row stride of A.</summary>
    public int Lda { get; }

    /// <summary>C (empty: skipped).</summary>
    public Span<T> C { get; }

    /// <summary>Row stride of C.</summary>
    public int Ldc { get; }

    /// <summary>First column of dz.</summary>
    public int ColumnStart { get; }

    /// <summary>One past the last column of dz.</summary>
    public int ColumnEnd { get; }
}
