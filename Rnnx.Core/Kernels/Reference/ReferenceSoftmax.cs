using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>Scalar oracles for <see cref="SoftmaxKernels"/>: the textbook formulas, one element at a time, every axis alike.</summary>
internal static class ReferenceSoftmax
{
    public static void Softmax<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T m = Max(x, b, n, inner), s = T.Zero;
                for (int k = 0; k < n; k++) s += T.Exp(x[b + k * inner] - m);
                for (int k = 0; k < n; k++) y[b + k * inner] = T.Exp(x[b + k * inner] - m) / s;
            }
    }

    public static void LogSoftmax<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T m = Max(x, b, n, inner), s = T.Zero;
                for (int k = 0; k < n; k++) s += T.Exp(x[b + k * inner] - m);
                for (int k = 0; k < n; k++) y[b + k * inner] = x[b + k * inner] - m - T.Log(s);
            }
    }

    public static void SoftmaxBackwardAccumulate<T>(Span<T> dx, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T dot = T.Zero;
                for (int k = 0; k < n; k++) dot += g[b + k * inner] * y[b + k * inner];
                for (int k = 0; k < n; k++) dx[b + k * inner] += y[b + k * inner] * (g[b + k * inner] - dot);
            }
    }

    public static void LogSoftmaxBackwardAccumulate<T>(Span<T> dx, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T sum = T.Zero;
                for (int k = 0; k < n; k++) sum += g[b + k * inner];
                for (int k = 0; k < n; k++) dx[b + k * inner] += g[b + k * inner] - T.Exp(y[b + k * inner]) * sum;
            }
    }

    private static T Max<T>(ReadOnlySpan<T> x, int start, int n, int stride) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T m = x[start];
        for (int k = 1; k < n; k++) m = T.Max(m, x[start + k * stride]);
        return m;
    }
}
