using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// Products with a right-hand matrix packed once and reused: the recurrent kernel of a sequence op is multiplied at every
/// time step, so it is laid out once per call in the order the micro-kernel reads it (contiguous panels instead of rows
/// strided by the gate width, which collide in the L1 cache's sets).
/// Contract: <see cref="Gemm{T}"/> on a packed matrix gives bit for bit what <see cref="MatMulKernels.Gemm{T}"/> gives
/// on the unpacked one, whatever the vector width or thread count.
/// </summary>
public static class PackedGemm
{
    /// <summary>Elements a packed copy of a (<paramref name="k"/> x <paramref name="n"/>) matrix of <typeparamref name="T"/> needs.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="k">Rows of op(B) (the reduction length).</param>
    /// <param name="n">Columns of op(B).</param>
    public static int PackedLength<T>(int k, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => checked(k * n);

    /// <summary>Packs op(B) (k x n) into <paramref name="packed"/> (at least <see cref="PackedLength{T}"/> elements).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="transB">Whether B is stored transposed ([n x k], ldb &gt;= k); otherwise [k x n], ldb &gt;= n.</param>
    /// <param name="k">Rows of op(B).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <param name="b">B storage.</param>
    /// <param name="ldb">Row stride of B's storage.</param>
    /// <param name="packed">Destination.</param>
    public static void Pack<T>(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb, Span<T> packed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
                packed[p * n + j] = transB ? b[j * ldb + p] : b[p * ldb + j];
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
    public static void Gemm<T>(bool transA, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> packed, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => MatMulKernels.Gemm(transA, false, m, n, k, a, lda, packed, Math.Max(n, 1), c, ldc, accumulate);
}
