using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// 1-D max and average pooling over channels-last (batch, length, channels) data with a <see cref="Conv1DGeometry"/>
/// of dilation 1 (valid or same padding, TensorFlow's rules). Padded positions never take part: the max is over the
/// real inputs of a window and the average divides by their count, as TensorFlow's pooling. Scalar loops over
/// contiguous channel rows; nothing allocates.
/// </summary>
public static class PoolingKernels
{
    /// <summary>y[b, j, c] = max (or mean) of x[b, p, c] over the window's real rows p.</summary>
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int channels, Conv1DGeometry g, bool max)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int len = g.InputLength, outLen = g.OutputLength;
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < outLen; j++)
            {
                Window(g, j, out int lo, out int hi);
                var dst = y.Slice((b * outLen + j) * channels, channels);
                x.Slice((b * len + lo) * channels, channels).CopyTo(dst);
                for (int p = lo + 1; p < hi; p++)
                {
                    var src = x.Slice((b * len + p) * channels, channels);
                    if (max) for (int c = 0; c < channels; c++) dst[c] = T.MaxNumber(dst[c], src[c]);
                    else for (int c = 0; c < channels; c++) dst[c] += src[c];
                }
                if (!max)
                {
                    T count = T.CreateTruncating(hi - lo);
                    for (int c = 0; c < channels; c++) dst[c] /= count;
                }
            }
    }

    /// <summary>
    /// gx += the pooling backward: max sends g to the first row of the window holding the maximum (recomputed from
    /// x and the output y), average spreads g / count over the window's real rows.
    /// </summary>
    public static void BackwardAccumulate<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> gy, Span<T> gx, int batch, int channels, Conv1DGeometry g, bool max)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int len = g.InputLength, outLen = g.OutputLength;
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < outLen; j++)
            {
                Window(g, j, out int lo, out int hi);
                int o = (b * outLen + j) * channels;
                for (int c = 0; c < channels; c++)
                {
                    if (max)
                    {
                        int p = lo;
                        while (p < hi - 1 && x[(b * len + p) * channels + c] != y[o + c]) p++;
                        gx[(b * len + p) * channels + c] += gy[o + c];
                    }
                    else
                    {
                        T share = gy[o + c] / T.CreateTruncating(hi - lo);
                        for (int p = lo; p < hi; p++) gx[(b * len + p) * channels + c] += share;
                    }
                }
            }
    }

    /// <summary>The real input rows [lo, hi) of output row j (never empty: TensorFlow's padding leaves each window a real row).</summary>
    private static void Window(Conv1DGeometry g, int j, out int lo, out int hi)
    {
        int start = j * g.Stride - g.PadLeft;
        lo = Math.Max(start, 0);
        hi = Math.Min(start + g.KernelSize, g.InputLength);
    }
}
