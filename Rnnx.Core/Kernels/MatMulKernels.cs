using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>TEMPORARY scalar stand-in; replaced by the vectorized kernels branch.</summary>
public static class MatMulKernels
{
    /// <summary>General GEMM.</summary>
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
            }
    }

    /// <summary>C = A B.</summary>
    public static void MatMul<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(false, false, m, n, k, a, k, b, n, c, n, accumulate);

    /// <summary>C = A B^T.</summary>
    public static void MatMulTransB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(false, true, m, n, k, a, k, b, k, c, n, accumulate);

    /// <summary>C = A^T B.</summary>
    public static void MatMulTransA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(true, false, m, n, k, a, m, b, n, c, n, accumulate);
}
