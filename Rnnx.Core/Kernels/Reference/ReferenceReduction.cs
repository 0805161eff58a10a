using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>Scalar loops: the test oracle for <see cref="ReductionKernels"/> (same signatures and semantics).</summary>
internal static class ReferenceReduction
{
    public static void SumRows<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int j = 0; j < cols; j++)
        {
            T sum = T.Zero;
            for (int i = 0; i < rows; i++)
                sum += src[i * cols + j];
            dst[j] = accumulate ? dst[j] + sum : sum;
        }
    }

    public static void SumCols<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++)
        {
            T sum = T.Zero;
            for (int j = 0; j < cols; j++)
                sum += src[i * cols + j];
            dst[i] = accumulate ? dst[i] + sum : sum;
        }
    }

    public static void AddRowVector<T>(Span<T> dst, ReadOnlySpan<T> bias, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                dst[i * cols + j] += bias[j];
    }

    public static bool AllFiniteAfterScaling<T>(ReadOnlySpan<T> x, T scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (var v in x)
            if (!T.IsFinite(v * scale)) return false;
        return true;
    }
}
