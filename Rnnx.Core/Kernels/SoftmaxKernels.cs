using System.Diagnostics;
using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Kernels;

/// <summary>
/// Softmax and log-softmax along one axis of a row-major tensor viewed as (outer, n, inner): the axis has length n and
/// its elements are <c>inner</c> apart. Both subtract the maximum before exponentiating, so no finite input overflows.
/// Contiguous rows (inner = 1, the usual last axis) run on <see cref="TP"/>'s vectorized Max/Exp/Sum; other axes walk
/// the strided elements one by one. Span in, span out; nothing allocates.
/// </summary>
public static class SoftmaxKernels
{
    /// <summary>y = exp(x − max) / Σ exp(x − max) along the axis.</summary>
    public static void Softmax<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length, outer, n, inner);
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var xr = x.Slice(o * n, n);
                var yr = y.Slice(o * n, n);
                TP.Subtract(xr, TP.Max(xr), yr);
                TP.Exp(yr, yr);
                TP.Divide(yr, TP.Sum<T>(yr), yr);
            }
            return;
        }
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T m = StridedMax(x, b, n, inner), s = T.Zero;
                for (int k = 0; k < n; k++) s += y[b + k * inner] = T.Exp(x[b + k * inner] - m);
                for (int k = 0; k < n; k++) y[b + k * inner] /= s;
            }
    }

    /// <summary>y = (x − max) − log Σ exp(x − max) along the axis.</summary>
    public static void LogSoftmax<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length, outer, n, inner);
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var xr = x.Slice(o * n, n);
                var yr = y.Slice(o * n, n);
                T m = TP.Max(xr);
                TP.Subtract(xr, m, yr);
                TP.Exp(yr, yr);
                T logSum = T.Log(TP.Sum<T>(yr));
                TP.Subtract(xr, m, yr);
                TP.Subtract(yr, logSum, yr);
            }
            return;
        }
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T m = StridedMax(x, b, n, inner), s = T.Zero;
                for (int k = 0; k < n; k++) s += T.Exp(x[b + k * inner] - m);
                T logSum = T.Log(s);
                for (int k = 0; k < n; k++) y[b + k * inner] = x[b + k * inner] - m - logSum;
            }
    }

    /// <summary>dx += y ⊙ (g − Σ g ⊙ y) along the axis: the softmax backward written with the output y.</summary>
    public static void SoftmaxBackwardAccumulate<T>(Span<T> dx, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check(g.Length, dx.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T dot = inner == 1 ? TP.Dot(g.Slice(b, n), y.Slice(b, n)) : StridedDot(g, y, b, n, inner);
                for (int k = 0; k < n; k++)
                {
                    int i = b + k * inner;
                    dx[i] += y[i] * (g[i] - dot);
                }
            }
    }

    /// <summary>dx += g − exp(y) Σ g along the axis: the log-softmax backward written with the output y (exp(y) is the softmax).</summary>
    public static void LogSoftmaxBackwardAccumulate<T>(Span<T> dx, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Check(g.Length, dx.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                int b = o * n * inner + j;
                T sum = T.Zero;
                if (inner == 1) sum = TP.Sum(g.Slice(b, n));
                else for (int k = 0; k < n; k++) sum += g[b + k * inner];
                for (int k = 0; k < n; k++)
                {
                    int i = b + k * inner;
                    dx[i] += g[i] - T.Exp(y[i]) * sum;
                }
            }
    }

    private static T StridedMax<T>(ReadOnlySpan<T> x, int start, int n, int stride) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T m = x[start];
        for (int k = 1; k < n; k++) m = T.Max(m, x[start + k * stride]);
        return m;
    }

    private static T StridedDot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int start, int n, int stride) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T s = T.Zero;
        for (int k = 0; k < n; k++) s += a[start + k * stride] * b[start + k * stride];
        return s;
    }

    [Conditional("DEBUG")]
    private static void Check(int inputLength, int outputLength, int outer, int n, int inner) =>
        Debug.Assert(outer >= 0 && n >= 1 && inner >= 1 && inputLength >= (long)outer * n * inner && outputLength >= (long)outer * n * inner);
}
