using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>Padding modes.</summary>
public enum Conv1DPadding
{
    /// <summary>No padding.</summary>
    Valid,
    /// <summary>TF SAME.</summary>
    Same,
    /// <summary>Left pad d*(k-1).</summary>
    Causal,
}

/// <summary>TEMPORARY stand-in geometry.</summary>
public readonly struct Conv1DGeometry
{
    /// <summary>L.</summary>
    public int InputLength { get; init; }
    /// <summary>K.</summary>
    public int KernelSize { get; init; }
    /// <summary>s.</summary>
    public int Stride { get; init; }
    /// <summary>d.</summary>
    public int Dilation { get; init; }
    /// <summary>left pad.</summary>
    public int PadLeft { get; init; }
    /// <summary>right pad.</summary>
    public int PadRight { get; init; }
    /// <summary>Lout.</summary>
    public int OutputLength { get; init; }

    /// <summary>Computes the geometry.</summary>
    public static Conv1DGeometry Create(int inputLength, int kernelSize, int stride, int dilation, Conv1DPadding padding)
    {
        int eff = dilation * (kernelSize - 1);
        int pl = 0, pr = 0, lout;
        switch (padding)
        {
            case Conv1DPadding.Valid: lout = (inputLength - eff - 1) / stride + 1; if (inputLength - eff - 1 < 0) lout = 0; break;
            case Conv1DPadding.Same:
                lout = (inputLength + stride - 1) / stride;
                int total = Math.Max((lout - 1) * stride + eff + 1 - inputLength, 0);
                pl = total / 2; pr = total - pl; break;
            default: pl = eff; lout = (inputLength - 1) / stride + 1; break;
        }
        if (lout < 1) throw new ArgumentException($"Conv1D: input length {inputLength} is too short for kernel {kernelSize} with dilation {dilation} ({padding}).");
        return new Conv1DGeometry { InputLength = inputLength, KernelSize = kernelSize, Stride = stride, Dilation = dilation, PadLeft = pl, PadRight = pr, OutputLength = lout };
    }
}

/// <summary>TEMPORARY scalar stand-in.</summary>
public static class Conv1DKernels
{
    /// <summary>Forward.</summary>
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, Span<T> y, int batch, int cin, int cout, in Conv1DGeometry g, bool accumulate = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int L = g.InputLength, Lo = g.OutputLength;
        if (!accumulate) y[..(batch * Lo * cout)].Clear();
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < Lo; j++)
                for (int i = 0; i < g.KernelSize; i++)
                {
                    int p = j * g.Stride + i * g.Dilation - g.PadLeft;
                    if (p < 0 || p >= L) continue;
                    for (int c = 0; c < cin; c++)
                    {
                        T xv = x[(b * L + p) * cin + c];
                        for (int f = 0; f < cout; f++) y[(b * Lo + j) * cout + f] += xv * w[(i * cin + c) * cout + f];
                    }
                }
    }

    /// <summary>Input gradient.</summary>
    public static void BackwardInput<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> w, Span<T> dx, int batch, int cin, int cout, in Conv1DGeometry g) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int L = g.InputLength, Lo = g.OutputLength;
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < Lo; j++)
                for (int i = 0; i < g.KernelSize; i++)
                {
                    int p = j * g.Stride + i * g.Dilation - g.PadLeft;
                    if (p < 0 || p >= L) continue;
                    for (int c = 0; c < cin; c++)
                    {
                        T s = T.Zero;
                        for (int f = 0; f < cout; f++) s += dy[(b * Lo + j) * cout + f] * w[(i * cin + c) * cout + f];
                        dx[(b * L + p) * cin + c] += s;
                    }
                }
    }

    /// <summary>Weight gradient.</summary>
    public static void BackwardWeight<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dw, int batch, int cin, int cout, in Conv1DGeometry g) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int L = g.InputLength, Lo = g.OutputLength;
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < Lo; j++)
                for (int i = 0; i < g.KernelSize; i++)
                {
                    int p = j * g.Stride + i * g.Dilation - g.PadLeft;
                    if (p < 0 || p >= L) continue;
                    for (int c = 0; c < cin; c++)
                    {
                        T xv = x[(b * L + p) * cin + c];
                        for (int f = 0; f < cout; f++) dw[(i * cin + c) * cout + f] += xv * dy[(b * Lo + j) * cout + f];
                    }
                }
    }
}
