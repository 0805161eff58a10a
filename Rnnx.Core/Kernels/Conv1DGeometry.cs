namespace Rnnx.Kernels;

/// <summary>
/// Single source of truth for conv1d shape arithmetic (Keras/TF rules), with d = dilation, k = kernel size, s = stride:
/// <list type="bullet">
/// <item>valid: Lout = floor((L - d*(k-1) - 1)/s) + 1, padLeft = padRight = 0 (rejected when Lout &lt; 1);</item>
/// <item>same: Lout = ceil(L/s); total = max((Lout-1)*s + d*(k-1) + 1 - L, 0); padLeft = total/2; padRight = total - padLeft;</item>
/// <item>causal: padLeft = d*(k-1), padRight = 0; Lout = floor((L-1)/s) + 1.</item>
/// </list>
/// Output position j, tap i reads padded input position j*s + i*d, i.e. input row j*s + i*d - padLeft.
/// </summary>
public readonly struct Conv1DGeometry : IEquatable<Conv1DGeometry>
{
    private Conv1DGeometry(int inputLength, int kernelSize, int stride, int dilation, int padLeft, int padRight, int outputLength)
    {
        InputLength = inputLength;
        KernelSize = kernelSize;
        Stride = stride;
        Dilation = dilation;
        PadLeft = padLeft;
        PadRight = padRight;
        OutputLength = outputLength;
    }

    /// <summary>Input length L (time steps).</summary>
    public int InputLength { get; }

    /// <summary>Kernel size k (number of taps).</summary>
    public int KernelSize { get; }

    /// <summary>Stride s.</summary>
    public int Stride { get; }

    /// <summary>Dilation d.</summary>
    public int Dilation { get; }

    /// <summary>Zeros implicitly prepended to the input.</summary>
    public int PadLeft { get; }

    /// <summary>Zeros implicitly appended to the input.</summary>
    public int PadRight { get; }

    /// <summary>Output length Lout (always &gt;= 1 for a geometry made by <see cref="Create"/>).</summary>
    public int OutputLength { get; }

    /// <summary>Receptive field of one output: d*(k-1) + 1.</summary>
    public int ReceptiveField => Dilation * (KernelSize - 1) + 1;

    /// <summary>Computes the geometry of a conv1d.</summary>
    /// <param name="inputLength">Input length L &gt; 0.</param>
    /// <param name="kernelSize">Kernel size k &gt; 0.</param>
    /// <param name="stride">Stride s &gt; 0.</param>
    /// <param name="dilation">Dilation d &gt; 0.</param>
    /// <param name="padding">Padding mode.</param>
    /// <returns>The geometry.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or the padding mode is unknown.</exception>
    /// <exception cref="ArgumentException">The output length would be &lt; 1, or a size overflows.</exception>
    public static Conv1DGeometry Create(int inputLength, int kernelSize, int stride, int dilation, Conv1DPadding padding)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dilation);

        long span = (long)dilation * (kernelSize - 1); // receptive field - 1
        long l = inputLength;
        long outLen, padLeft, padRight;
        switch (padding)
        {
            case Conv1DPadding.Valid:
            {
                long num = l - span - 1;
                if (num < 0)
                    throw new ArgumentException(
                        $"Conv1D with 'valid' padding: input length {inputLength} is shorter than the receptive field " +
                        $"{span + 1} (kernel size {kernelSize}, dilation {dilation}), so the output length would be < 1.",
                        nameof(inputLength));
                outLen = num / stride + 1;
                padLeft = padRight = 0;
                break;
            }
            case Conv1DPadding.Same:
            {
                outLen = (l + stride - 1) / stride;
                long total = Math.Max((outLen - 1) * stride + span + 1 - l, 0);
                padLeft = total / 2;
                padRight = total - padLeft;
                break;
            }
            case Conv1DPadding.Causal:
                padLeft = span;
                padRight = 0;
                outLen = (l - 1) / stride + 1;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(padding), padding, $"Unknown Conv1DPadding value {padding}.");
        }

        if (padLeft > int.MaxValue || padRight > int.MaxValue || l + padLeft + padRight > int.MaxValue)
            throw new ArgumentException(
                $"Conv1D geometry overflows: kernel size {kernelSize}, dilation {dilation}, input length {inputLength}.",
                nameof(dilation));
        return new Conv1DGeometry(inputLength, kernelSize, stride, dilation, (int)padLeft, (int)padRight, (int)outLen);
    }

    /// <summary>
    /// Output rows j in [<paramref name="first"/>, <paramref name="end"/>) for which tap <paramref name="tap"/>
    /// reads a real input row (0 &lt;= j*s + tap*d - padLeft &lt; L); empty ranges have first == end.
    /// </summary>
    internal void TapRange(int tap, out int first, out int end)
    {
        long off = (long)tap * Dilation - PadLeft; // input row = j*s + off
        long lo = off >= 0 ? 0 : (-off + Stride - 1) / Stride;
        long hiNum = InputLength - 1 - off;        // j*s <= hiNum
        long hi = hiNum < 0 ? 0 : hiNum / Stride + 1;
        lo = Math.Min(lo, OutputLength);
        hi = Math.Clamp(hi, lo, OutputLength);
        first = (int)lo;
        end = (int)hi;
    }

    /// <inheritdoc/>
    public bool Equals(Conv1DGeometry other) =>
        InputLength == other.InputLength && KernelSize == other.KernelSize && Stride == other.Stride &&
        Dilation == other.Dilation && PadLeft == other.PadLeft && PadRight == other.PadRight &&
        OutputLength == other.OutputLength;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Conv1DGeometry g && Equals(g);

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(InputLength, KernelSize, Stride, Dilation, PadLeft, PadRight, OutputLength);

    /// <summary>Equality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>Whether all fields are equal.</returns>
    public static bool operator ==(Conv1DGeometry left, Conv1DGeometry right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>Whether some field differs.</returns>
    public static bool operator !=(Conv1DGeometry left, Conv1DGeometry right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        $"Conv1DGeometry(L={InputLength}, k={KernelSize}, s={Stride}, d={Dilation}, pad=({PadLeft},{PadRight}), Lout={OutputLength})";
}
