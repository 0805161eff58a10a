using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rnnx.Kernels;

/// <summary>
/// Dense matrix products on row-major spans (SIMD, register-blocked, allocation-free after warm-up).
/// See <c>docs/kernels.md</c> for the blocking, the tail strategy and the accumulation order.
/// </summary>
public static class MatMulKernels
{
    /// <summary>
    /// General GEMM on row-major matrices with leading dimensions (row strides):
    /// C[m x n] = (accumulate ? C : 0) + op(A) * op(B).
    /// op(A) is A[m x k] (lda &gt;= k) when !<paramref name="transA"/>, or A is stored [k x m] (lda &gt;= m) and op(A) = A^T.
    /// op(B) is B[k x n] (ldb &gt;= n) when !<paramref name="transB"/>, or B is stored [n x k] (ldb &gt;= k) and op(B) = B^T.
    /// C row stride ldc &gt;= n. Any of m, n, k may be 0 (k == 0 gives C = accumulate ? C : 0).
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="transA">Whether A is stored transposed ([k x m]).</param>
    /// <param name="transB">Whether B is stored transposed ([n x k]).</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Reduction length.</param>
    /// <param name="a">A storage.</param>
    /// <param name="lda">Row stride of A's storage.</param>
    /// <param name="b">B storage.</param>
    /// <param name="ldb">Row stride of B's storage.</param>
    /// <param name="c">C storage (output).</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    /// <exception cref="ArgumentException">A size is negative, a row stride is below its row length, or a span is too
    /// short for its matrix (the message names the argument; C is left unchanged).</exception>
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowPanels: true);

    /// <summary>
    /// <see cref="Gemm{T}"/> without the packed-panel engine (same results): the baseline its benchmarks compare with.
    /// </summary>
    internal static void GemmUnpacked<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, allowPanels: false);

    /// <summary>
    /// Whether packing op(B) into panels (<see cref="PackedGemmCore"/>) pays for an m x n x k product: B^T is copied
    /// anyway, so it always pays there when the layout exists; an untransposed B is copied only when enough rows reuse
    /// each panel. Never with 512-bit vectors (the panel engine is 256-bit; the 32-register engine is kept there).
    /// </summary>
    internal static bool PanelsPay<T>(bool transB, int m, int n) where T : unmanaged
        => !Vector512.IsHardwareAccelerated && PackedGemmCore.PanelWidth<T>(n) != 0 && m >= (transB ? 2 : PanelMinRows);

    /// <summary>Rows from which packing an untransposed B pays (measured: docs/kernels.md).</summary>
    internal const int PanelMinRows = 32;

    [SkipLocalsInit]
    private static unsafe void Run<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate, bool allowPanels)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // checked on every call (public entry point; nothing is allocated unless a check throws)
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        GemmArguments.CheckMatrix("MatMulKernels.Gemm", transA ? k : m, transA ? m : k, a.Length, lda, nameof(a), nameof(lda));
        GemmArguments.CheckMatrix("MatMulKernels.Gemm", transB ? n : k, transB ? k : n, b.Length, ldb, nameof(b), nameof(ldb));
        GemmArguments.CheckMatrix("MatMulKernels.Gemm", m, n, c.Length, ldc, nameof(c), nameof(ldc));
        if (m == 0 || n == 0)
            return;

        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            if (k == 0)
            {
                if (!accumulate)
                    GemmCore.ClearRows(GemmPlan<T>.Strided(m, n, pa, 0, pb, default, pc, ldc, false));
                return;
            }
            if (m == 1 && n > 1 && !transB)
            {
                // One row: the matrix-vector kernel (more accumulators in flight, no plan; same results as the row
                // in a batch). n == 1 stays on the dot-product path, as in a batch.
                ParallelGemm.Gemv(n, k, pa, transA ? lda : 1, pb, ldb, pc, accumulate);
                return;
            }
            nint aRow = transA ? 1 : lda;
            nint aInner = transA ? lda : 1;
            if (allowPanels && PanelsPay<T>(transB, m, n))
            {
                GemmPanels(transB, m, n, k, pa, aRow, aInner, pb, ldb, pc, ldc, accumulate);
                return;
            }
            if (!transB && n == 1 && ldb != 1)
            {
                // One strided column: copy it so that every single-column product takes the dot-product kernel
                // (its sums are split over vector lanes), whatever B's stride: the result must not depend on ldb.
                Span<T> column = KernelScratch<T>.Get(k);
                for (int p = 0; p < k; p++)
                    column[p] = pb[p * (nint)ldb];
                fixed (T* pcol = column)
                    ParallelGemm.Run(GemmPlan<T>.Strided(m, 1, pa, aRow, pcol, KLoop.Simple(k, aInner, 1), pc, ldc, accumulate));
                return;
            }
            if (!transB)
            {
                var plan = GemmPlan<T>.Strided(m, n, pa, aRow, pb, KLoop.Simple(k, aInner, ldb), pc, ldc, accumulate);
                ParallelGemm.Run(plan);
                return;
            }

            // op(B) = B^T: pack it once into a row-major [k x n] scratch panel (no transpose is materialised in
            // the caller's memory; the panel is reused across calls), then run the NN engine on it.
            Span<T> scratch = KernelScratch<T>.Get(checked(k * n));
            fixed (T* pp = scratch)
            {
                PackTransposed(pb, ldb, n, k, pp);
                var plan = GemmPlan<T>.Strided(m, n, pa, aRow, pp, KLoop.Simple(k, aInner, n), pc, ldc, accumulate);
                ParallelGemm.Run(plan);
            }
        }
    }

    /// <summary>
    /// The product on the packed-panel engine, one k block of <see cref="GemmCore.KBlock"/> at a time: each block's
    /// slice of op(B) is packed into the thread's scratch (at most KBlock x n elements, cache-sized and independent of
    /// k) and multiplied, the blocks after the first adding into C: the k-blocking and roundings of
    /// <see cref="GemmCore"/>.
    /// </summary>
    private static unsafe void GemmPanels<T>(bool transB, int m, int n, int k, T* a, nint aRow, nint aStep,
        T* b, nint ldb, T* c, nint ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int nr = PackedGemmCore.PanelWidth<T>(n);
        Span<T> scratch = KernelScratch<T>.Get(PackedGemmCore.PackedLength<T>(Math.Min(k, GemmCore.KBlock), n));
        fixed (T* panels = scratch)
        {
            for (int q0 = 0; q0 < k; q0 += GemmCore.KBlock)
            {
                int kq = Math.Min(GemmCore.KBlock, k - q0);
                PackedGemmCore.Pack(transB, kq, n, transB ? b + q0 : b + q0 * ldb, ldb, panels);
                ParallelGemm.RunPacked(new PackedPlan<T>
                {
                    M = m, N = n, K = kq, A = a + q0 * aStep, ARow = aRow, AStep = aStep, B = panels, C = c, Ldc = ldc,
                    Accumulate = accumulate || q0 > 0, RowStart = 0, RowEnd = m,
                    PanelStart = 0, PanelEnd = PackedGemmCore.Panels(n, nr),
                });
            }
        }
    }

    /// <summary>dst[p*rows + j] = src[j*ld + p] for j &lt; rows, p &lt; cols (<see cref="PackTransposed{T}(T*, nint, int, int, T*, nint)"/> with ldd = rows).</summary>
    internal static unsafe void PackTransposed<T>(T* src, nint ld, int rows, int cols, T* dst) where T : unmanaged
        => PackTransposed(src, ld, rows, cols, dst, rows);

    /// <summary>
    /// dst[p*ldd + j] = src[j*ld + p] for j &lt; rows, p &lt; cols. With AVX: 8x8 (float) / 4x4 (double) register
    /// transposes over the full blocks; the leftover columns and rows use the scalar loop (4 source rows at a time).
    /// </summary>
    internal static unsafe void PackTransposed<T>(T* src, nint ld, int rows, int cols, T* dst, nint ldd) where T : unmanaged
    {
        int j = 0;
        if (Avx.IsSupported && typeof(T) == typeof(float))
        {
            for (; j + 8 <= rows; j += 8)
            {
                int p = 0;
                for (; p + 8 <= cols; p += 8)
                    Transpose8x8((float*)src + j * ld + p, ld, (float*)dst + p * ldd + j, ldd);
                PackScalar(src + j * ld, ld, 8, p, cols, dst + j, ldd);
            }
        }
        else if (Avx.IsSupported && typeof(T) == typeof(double))
        {
            for (; j + 4 <= rows; j += 4)
            {
                int p = 0;
                for (; p + 4 <= cols; p += 4)
                    Transpose4x4((double*)src + j * ld + p, ld, (double*)dst + p * ldd + j, ldd);
                PackScalar(src + j * ld, ld, 4, p, cols, dst + j, ldd);
            }
        }
        PackScalar(src + j * ld, ld, rows - j, 0, cols, dst + j, ldd);
    }

    /// <summary>Scalar part of <see cref="PackTransposed{T}(T*, nint, int, int, T*, nint)"/>: source rows [0, nrows), columns [p0, cols).</summary>
    private static unsafe void PackScalar<T>(T* src, nint ld, int nrows, int p0, int cols, T* dst, nint ldd) where T : unmanaged
    {
        int j = 0;
        for (; j + 4 <= nrows; j += 4)
        {
            T* s0 = src + j * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
            T* d = dst + j + p0 * ldd;
            for (int p = p0; p < cols; p++, d += ldd)
            {
                d[0] = s0[p];
                d[1] = s1[p];
                d[2] = s2[p];
                d[3] = s3[p];
            }
        }
        for (; j < nrows; j++)
        {
            T* s0 = src + j * ld;
            T* d = dst + j + p0 * ldd;
            for (int p = p0; p < cols; p++, d += ldd)
                *d = s0[p];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* s, nint ld, float* d, nint ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ld);
        Vector256<float> r2 = Avx.LoadVector256(s + 2 * ld), r3 = Avx.LoadVector256(s + 3 * ld);
        Vector256<float> r4 = Avx.LoadVector256(s + 4 * ld), r5 = Avx.LoadVector256(s + 5 * ld);
        Vector256<float> r6 = Avx.LoadVector256(s + 6 * ld), r7 = Avx.LoadVector256(s + 7 * ld);
        // pairs: (r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]) etc.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // quads: u0 = (r0..r3)[0] | (r0..r3)[4], u1 = [1] | [5], u2 = [2] | [6], u3 = [3] | [7]; u4..u7 for r4..r7
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose4x4(double* s, nint ld, double* d, nint ldd)
    {
        Vector256<double> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ld);
        Vector256<double> r2 = Avx.LoadVector256(s + 2 * ld), r3 = Avx.LoadVector256(s + 3 * ld);
        // (r0[0] r1[0] | r0[2] r1[2]) and (r0[1] r1[1] | r0[3] r1[3])
        Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Avx.Store(d, Avx.Permute2x128(t0, t2, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(t1, t3, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(t0, t2, 0x31));
        Avx.Store(d + 3 * ldd, Avx.Permute2x128(t1, t3, 0x31));
    }

    /// <summary>Contiguous C[m,n] (+)= A[m,k] * B[k,n].</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="a">A, [m x k] row-major.</param>
    /// <param name="b">B, [k x n] row-major.</param>
    /// <param name="c">C, [m x n] row-major.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="k">Columns of A, rows of B.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    public static void MatMul<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(false, false, m, n, k, a, Math.Max(k, 1), b, Math.Max(n, 1), c, Math.Max(n, 1), accumulate);

    /// <summary>Contiguous C[m,n] (+)= A[m,k] * B^T where B is stored [n,k].</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="a">A, [m x k] row-major.</param>
    /// <param name="b">B, [n x k] row-major.</param>
    /// <param name="c">C, [m x n] row-major.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="k">Columns of A and of B's storage.</param>
    /// <param name="n">Rows of B's storage, columns of C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    public static void MatMulTransB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(false, true, m, n, k, a, Math.Max(k, 1), b, Math.Max(k, 1), c, Math.Max(n, 1), accumulate);

    /// <summary>Contiguous C[m,n] (+)= A^T * B where A is stored [k,m] and B is [k,n].</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="a">A, [k x m] row-major.</param>
    /// <param name="b">B, [k x n] row-major.</param>
    /// <param name="c">C, [m x n] row-major.</param>
    /// <param name="m">Columns of A's storage, rows of C.</param>
    /// <param name="k">Rows of A's storage and of B.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    public static void MatMulTransA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(true, false, m, n, k, a, Math.Max(m, 1), b, Math.Max(n, 1), c, Math.Max(n, 1), accumulate);
}
