using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>TEMPORARY stand-in.</summary>
public static class ReductionKernels
{
    /// <summary>Column sums.</summary>
    public static void SumRows<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!accumulate) dst[..cols].Clear();
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) dst[j] += src[i * cols + j];
    }

    /// <summary>Row sums.</summary>
    public static void SumCols<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++) { T s = T.Zero; for (int j = 0; j < cols; j++) s += src[i * cols + j]; dst[i] = accumulate ? dst[i] + s : s; }
    }

    /// <summary>Adds a row vector to every row.</summary>
    public static void AddRowVector<T>(Span<T> dst, ReadOnlySpan<T> bias, int rows, int cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) dst[i * cols + j] += bias[j];
    }
}
