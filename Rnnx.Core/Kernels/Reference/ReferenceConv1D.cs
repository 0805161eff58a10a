using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>
/// Direct scalar 1-D convolution loops over the zero-padded input: the test oracle and benchmark baseline
/// for <see cref="Conv1DKernels"/> (same signatures and semantics).
/// </summary>
internal static class ReferenceConv1D
{
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int batch, int cin, int cout,
        in Conv1DGeometry g, bool accumulate = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int l = g.InputLength, lout = g.OutputLength;
        for (int b = 0; b < batch; b++)
        for (int j = 0; j < lout; j++)
        for (int f = 0; f < cout; f++)
        {
            T sum = T.Zero;
            for (int i = 0; i < g.KernelSize; i++)
            {
                int r = j * g.Stride + i * g.Dilation - g.PadLeft; // row of the unpadded input
                if (r < 0 || r >= l)
                    continue; // zero padding
                for (int c = 0; c < cin; c++)
                    sum += x[(b * l + r) * cin + c] * w[(i * cin + c) * cout + f];
            }
            int o = (b * lout + j) * cout + f;
            y[o] = accumulate ? y[o] + sum : sum;
        }
    }

    public static void BackwardInput<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, int batch, int cin, int cout,
        in Conv1DGeometry g)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int l = g.InputLength, lout = g.OutputLength;
        for (int b = 0; b < batch; b++)
        for (int j = 0; j < lout; j++)
        for (int i = 0; i < g.KernelSize; i++)
        {
            int r = j * g.Stride + i * g.Dilation - g.PadLeft;
            if (r < 0 || r >= l)
                continue;
            for (int c = 0; c < cin; c++)
            {
                T sum = T.Zero;
                for (int f = 0; f < cout; f++)
                    sum += dy[(b * lout + j) * cout + f] * w[(i * cin + c) * cout + f];
                dx[(b * l + r) * cin + c] += sum;
            }
        }
    }

    public static void BackwardWeight<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dw, int batch, int cin, int cout,
        in Conv1DGeometry g)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int l = g.InputLength, lout = g.OutputLength;
        for (int i = 0; i < g.KernelSize; i++)
        for (int c = 0; c < cin; c++)
        for (int f = 0; f < cout; f++)
        {
            T sum = T.Zero;
            for (int b = 0; b < batch; b++)
            for (int j = 0; j < lout; j++)
            {
                int r = j * g.Stride + i * g.Dilation - g.PadLeft;
                if (r < 0 || r >= l)
                    continue;
                sum += x[(b * l + r) * cin + c] * dy[(b * lout + j) * cout + f];
            }
            dw[(i * cin + c) * cout + f] += sum;
        }
    }
}
