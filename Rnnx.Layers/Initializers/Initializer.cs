using Rnnx.Random;

namespace Rnnx.Initializers;

/// <summary>
/// Fills a new weight. Values are drawn in double from a seeded <see cref="NumPyRandomState"/> and then cast to the
/// weight's dtype, so a seed gives bit-identical weights in float32 and (to double precision) in float64.
/// </summary>
public abstract class Initializer
{
    /// <summary>Keras-style name (e.g. <c>glorot_uniform</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Fills <paramref name="values"/> (row-major, shape <paramref name="shape"/>).</summary>
    public abstract void Fill(Span<double> values, ReadOnlySpan<int> shape, NumPyRandomState rng);

    /// <summary>Zeros.</summary>
    public static Initializer Zeros { get; } = new ConstantInitializer(0, "zeros");

    /// <summary>Ones.</summary>
    public static Initializer Ones { get; } = new ConstantInitializer(1, "ones");

    /// <summary>Keras <c>RandomUniform(minval, maxval)</c> (the string <c>"uniform"</c> is (-0.05, 0.05), Embedding's default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or minval &gt; maxval.</exception>
    public static Initializer RandomUniform(double minval = -0.05, double maxval = 0.05) => new RandomUniformInitializer(minval, maxval);

    /// <summary>Glorot (Xavier) uniform: U[-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).</summary>
    public static Initializer GlorotUniform { get; } = new GlorotUniformInitializer();

    /// <summary>Orthogonal with gain 1 (Keras's recurrent-kernel default).</summary>
    public static Initializer Orthogonal { get; } = new OrthogonalInitializer(1.0);

    /// <summary>A constant value.</summary>
    public static Initializer Constant(double value) => new ConstantInitializer(value, "constant");

    /// <summary>Keras fan computation on the stored shape: rank 2 (in, out); conv (k..., in, out) multiplies by the receptive field; rank 1: n, n.</summary>
    public static (double FanIn, double FanOut) Fans(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 0) return (1, 1);
        if (shape.Length == 1) return (shape[0], shape[0]);
        if (shape.Length == 2) return (shape[0], shape[1]);
        double receptive = 1;
        for (int i = 0; i < shape.Length - 2; i++) receptive *= shape[i];
        return (shape[^2] * receptive, shape[^1] * receptive);
    }
}

/// <summary>Fills with one value.</summary>
public sealed class ConstantInitializer(double value, string name = "constant") : Initializer
{
    /// <inheritdoc />
    public override string Name => name;

    /// <summary>The value.</summary>
    public double Value => value;

    /// <inheritdoc />
    public override void Fill(Span<double> values, ReadOnlySpan<int> shape, NumPyRandomState rng) => values.Fill(value);
}

/// <summary>Glorot uniform, as Keras: limit = sqrt(3 / max(1, (fan_in + fan_out) / 2)); each value low + (high - low) * u.</summary>
public sealed class GlorotUniformInitializer : Initializer
{
    /// <inheritdoc />
    public override string Name => "glorot_uniform";

    /// <inheritdoc />
    public override void Fill(Span<double> values, ReadOnlySpan<int> shape, NumPyRandomState rng)
    {
        var (fanIn, fanOut) = Fans(shape);
        double scale = 1.0 / Math.Max(1.0, (fanIn + fanOut) / 2.0);
        double limit = Math.Sqrt(3.0 * scale);
        for (int i = 0; i < values.Length; i++) values[i] = -limit + 2 * limit * rng.NextDouble();
    }
}

/// <summary>
/// Orthogonal, as Keras: draw A (max(r, c), min(r, c)) standard normal with r = prod(shape[:-1]), c = shape[-1];
/// thin QR (Householder, <see cref="OrthogonalMatrix"/>); multiply column j of Q by sign(R[j, j]); transpose when r &lt; c; multiply by the gain.
/// </summary>
public sealed class OrthogonalInitializer(double gain) : Initializer
{
    /// <inheritdoc />
    public override string Name => "orthogonal";

    /// <summary>The gain.</summary>
    public double Gain => gain;

    /// <inheritdoc />
    public override void Fill(Span<double> values, ReadOnlySpan<int> shape, NumPyRandomState rng)
    {
        int cols = shape.Length == 0 ? 1 : shape[^1];
        OrthogonalMatrix.Draw(values, values.Length / cols, cols, gain, rng);
    }
}

/// <summary>Keras <c>RandomUniform</c>: each value minval + (maxval − minval)·u, u uniform in [0, 1).</summary>
public sealed class RandomUniformInitializer : Initializer
{
    /// <summary>Creates the initializer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or minval &gt; maxval.</exception>
    public RandomUniformInitializer(double minval, double maxval)
    {
        if (!double.IsFinite(minval) || !double.IsFinite(maxval) || minval > maxval)
            throw new ArgumentOutOfRangeException(nameof(minval), $"RandomUniform: bounds [{minval}, {maxval}) must be finite with minval <= maxval.");
        Minval = minval;
        Maxval = maxval;
    }

    /// <summary>Lower bound.</summary>
    public double Minval { get; }

    /// <summary>Upper bound.</summary>
    public double Maxval { get; }

    /// <inheritdoc />
    public override string Name => "random_uniform";

    /// <inheritdoc />
    public override void Fill(Span<double> values, ReadOnlySpan<int> shape, NumPyRandomState rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Minval + (Maxval - Minval) * rng.NextDouble();
    }
}
