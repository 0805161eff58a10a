using Rnnx.Kernels;
using Rnnx.Random;

namespace Rnnx;

public readonly partial struct Tensor
{
    // ------------------------------------------------------------ counter-based noise (constants: nothing is recorded)

    /// <summary>
    /// An inverted-dropout mask (Keras's <c>backend.random.dropout</c> on ones): each element is 0 with probability
    /// <paramref name="rate"/>, else 1 / (1 − rate), so that <c>x * mask</c> keeps the expected value of x. Axis 0 holds
    /// rows (samples): row r draws with global row <c>key.FirstRow + r</c>, so the mask of a batch split into shards equals
    /// the mask of the whole batch. Pooled on the active tape like an operation's result; a constant (no gradient).
    /// </summary>
    /// <param name="shape">The mask's shape, rank at least 1 (rows first).</param>
    /// <param name="rate">Fraction dropped, in [0, 1).</param>
    /// <param name="key">Stream, step and first row.</param>
    /// <param name="dtype">The mask's dtype.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1) or the shape is a scalar.</exception>
    public static Tensor DropoutMask(Shape shape, double rate, NoiseKey key, DType dtype = DType.Float32)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, $"DropoutMask: rate must be in [0, 1), got {rate}.");
        var d = NoiseResult(nameof(DropoutMask), shape, dtype, out int rows, out int rowLength);
        if (dtype == DType.Float32) NoiseKernels.DropoutMask(d.Span<float>(), rows, rowLength, key, rate);
        else NoiseKernels.DropoutMask(d.Span<double>(), rows, rowLength, key, rate);
        return new Tensor(d);
    }

    /// <summary>
    /// Normal noise with mean 0 and standard deviation <paramref name="stddev"/> (Keras's <c>backend.random.normal</c>),
    /// drawn per element from the key as <see cref="DropoutMask"/> does. A constant (no gradient).
    /// </summary>
    /// <param name="shape">The noise's shape, rank at least 1 (rows first).</param>
    /// <param name="stddev">Standard deviation, finite and not negative.</param>
    /// <param name="key">Stream, step and first row.</param>
    /// <param name="dtype">The noise's dtype.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stddev"/> is negative or not finite, or the shape is a scalar.</exception>
    public static Tensor GaussianNoise(Shape shape, double stddev, NoiseKey key, DType dtype = DType.Float32)
    {
        if (!(stddev >= 0 && double.IsFinite(stddev))) throw new ArgumentOutOfRangeException(nameof(stddev), stddev, $"GaussianNoise: stddev must be finite and not negative, got {stddev}.");
        var d = NoiseResult(nameof(GaussianNoise), shape, dtype, out int rows, out int rowLength);
        if (dtype == DType.Float32) NoiseKernels.Gaussian(d.Span<float>(), rows, rowLength, key, stddev);
        else NoiseKernels.Gaussian(d.Span<double>(), rows, rowLength, key, stddev);
        return new Tensor(d);
    }

    private static TensorData NoiseResult(string op, Shape shape, DType dtype, out int rows, out int rowLength)
    {
        if (shape.Rank < 1) throw new ArgumentOutOfRangeException(nameof(shape), $"{op}: the shape needs a row axis, got a scalar.");
        rows = shape[0];
        rowLength = rows == 0 ? 0 : shape.Size / rows;
        return Tape.NewResult(shape, dtype);
    }
}
