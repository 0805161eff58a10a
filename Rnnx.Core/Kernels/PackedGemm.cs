using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// Products with a right-hand matrix packed once and reused: the recurrent kernel of a sequence op is multiplied at every
/// time step, so it is laid out once per call in the order the micro-kernel reads it (contiguous panels of two vectors'
/// width instead of rows strided by the gate width, which collide in the L1 cache's sets). See docs/kernels.md.
/// Contract: <see cref="Gemm{T}"/> on a packed matrix gives bit for bit what <see cref="MatMulKernels.Gemm{T}"/> gives
/// on the unpacked one, whatever the vector width or thread count. The packed layout depends on the machine's vector
/// width: pack on the machine (process) that multiplies, never store a packed copy.
/// </summary>
public static class PackedGemm
{
    /// <summary>Elements a packed copy of a (<paramref name="k"/> x <paramref name="n"/>) matrix of <typeparamref name="T"/> needs.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="k">Rows of op(B) (the reduction length).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <exception cref="ArgumentOutOfRangeException">k or n is negative.</exception>
    /// <exception cref="OverflowException">The packed copy would exceed <see cref="int.MaxValue"/> elements.</exception>
    public static int PackedLength<T>(int k, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        return PackedGemmCore.PackedLength<T>(k, n);
    }

    /// <summary>Packs op(B) (k x n) into <paramref name="packed"/> (at least <see cref="PackedLength{T}"/> elements).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="transB">Whether B is stored transposed ([n x k], ldb &gt;= k); otherwise [k x n], ldb &gt;= n.</param>
    /// <param name="k">Rows of op(B).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <param name="b">B storage.</param>
    /// <param name="ldb">Row stride of B's storage.</param>
    /// <param name="packed">Destination.</param>
    /// <exception cref="ArgumentException">A size is negative, <paramref name="ldb"/> is below the row length, or a span is too short.</exception>
    public static unsafe void Pack<T>(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb, Span<T> packed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int length = PackedLength<T>(k, n);
        GemmArguments.CheckMatrix("PackedGemm.Pack", transB ? n : k, transB ? k : n, b.Length, ldb, nameof(b), nameof(ldb));
        if (packed.Length < length)
            throw new ArgumentException($"PackedGemm.Pack: the packed span holds {packed.Length} elements, a {k} x {n} matrix needs {length}.", nameof(packed));
        if (k == 0 || n == 0)
            return;
        fixed (T* pb = b)
        fixed (T* pp = packed)
            PackedGemmCore.Pack(transB, k, n, pb, ldb, pp);
    }

    /// <summary>C[m x n] = (accumulate ? C : 0) + op(A)·op(B) with op(B) packed by <see cref="Pack{T}"/> (same k and n).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="transA">Whether A is stored transposed ([k x m], lda &gt;= m); otherwise [m x k], lda &gt;= k.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Reduction length.</param>
    /// <param name="a">A storage.</param>
    /// <param name="lda">Row stride of A's storage.</param>
    /// <param name="packed">op(B), packed.</param>
    /// <param name="c">C storage.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is below its row length, or a span is too short.</exception>
    public static unsafe void Gemm<T>(bool transA, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> packed, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        int length = PackedLength<T>(k, n);
        GemmArguments.CheckMatrix("PackedGemm.Gemm", transA ? k : m, transA ? m : k, a.Length, lda, nameof(a), nameof(lda));
        GemmArguments.CheckMatrix("PackedGemm.Gemm", m, n, c.Length, ldc, nameof(c), nameof(ldc));
        if (packed.Length < length)
            throw new ArgumentException($"PackedGemm.Gemm: the packed span holds {packed.Length} elements, a packed {k} x {n} matrix has {length}.", nameof(packed));
        int nr = PackedGemmCore.PanelWidth<T>(n);
        if (nr == 0 || k == 0)
        {
            MatMulKernels.Gemm(transA, false, m, n, k, a, lda, packed, Math.Max(n, 1), c, ldc, accumulate);
            return;
        }
        if (m == 0)
            return;
        fixed (T* pa = a)
        fixed (T* pp = packed)
        fixed (T* pc = c)
        {
            var plan = new PackedPlan<T>
            {
                M = m, N = n, K = k,
                A = pa, ARow = transA ? 1 : lda, AStep = transA ? lda : 1,
                B = pp, C = pc, Ldc = ldc, Accumulate = accumulate,
                RowStart = 0, RowEnd = m, PanelStart = 0, PanelEnd = PackedGemmCore.Panels(n, nr),
            };
            ParallelGemm.RunPacked(plan);
        }
    }
}
