using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>
/// Scalar triple-loop GEMM: the test oracle and benchmark baseline for <see cref="MatMulKernels"/>.
/// Same signatures and semantics; each output sums its k products in increasing order, then adds C when accumulating.
/// </summary>
internal static class ReferenceMatMul
{
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T av = transA ? a[p * lda + i] : a[i * lda + p];
                    T bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
            }
        }
    }

    public static void MatMul<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(false, false, m, n, k, a, k, b, n, c, n, accumulate);

    public static void MatMulTransB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(false, true, m, n, k, a, k, b, k, c, n, accumulate);

    public static void MatMulTransA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(true, false, m, n, k, a, m, b, n, c, n, accumulate);
}
