using System.Numerics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// <see cref="Gemm{T}"/> in the tile engine's exact arithmetic (<see cref="GemmCore"/>, m ≥ 2, n ≥ 2): per output,
    /// the products of each block of <see cref="GemmCore.KBlock"/> k indices summed in increasing order in one
    /// accumulator (fused exactly when the FMA instruction set is available), the block sum then added to C (the first
    /// block only when accumulating). The engine's results equal these bit for bit, whatever its tiles.
    /// </summary>
    public static void GemmInEngineOrder<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T acc = accumulate ? c[i * ldc + j] : T.Zero;
                for (int p0 = 0; p0 < k; p0 += GemmCore.KBlock)
                {
                    T sum = T.Zero;
                    for (int p = p0; p < Math.Min(k, p0 + GemmCore.KBlock); p++)
                    {
                        T av = transA ? a[p * lda + i] : a[i * lda + p];
                        T bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                        sum = Fma.IsSupported ? T.FusedMultiplyAdd(av, bv, sum) : av * bv + sum;
                    }
                    acc = accumulate || p0 > 0 ? acc + sum : sum;
                }
                c[i * ldc + j] = k == 0 ? (accumulate ? c[i * ldc + j] : T.Zero) : acc;
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
