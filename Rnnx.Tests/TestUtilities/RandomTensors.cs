using Rnnx.Random;

namespace Rnnx.Tests.TestUtilities;

/// <summary>
/// Seeded float64 test tensors (heap leaves, outside any tape) whose values stay away from the points where the ops
/// are not differentiable, by far more than the checker's step.
/// </summary>
public sealed class RandomTensors
{
    private readonly NumPyRandomState _rng;

    /// <summary>A generator with the given seed (numpy's legacy RandomState, so sequences are reproducible).</summary>
    public RandomTensors(uint seed) => _rng = new NumPyRandomState(seed);

    /// <summary>
    /// The default distance kept from kinks (relu/abs at 0, MAE at 0, Huber at |d| = delta): 0.1, twice the 0.05 the
    /// tests require and 1e5 times the checker's step, so no central difference straddles a kink.
    /// </summary>
    public const double KinkMargin = 0.1;

    /// <summary>Uniform values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public Tensor Uniform(Shape shape, double low = -1, double high = 1)
    {
        var v = new double[shape.Size];
        for (int i = 0; i < v.Length; i++) v[i] = low + (high - low) * _rng.NextDouble();
        return Tensor.FromSpan<double>(v, shape);
    }

    /// <summary>Uniform values in [-1, 1) with the given dimensions.</summary>
    public Tensor Uniform(params int[] dims) => Uniform(new Shape(dims));

    /// <summary>Standard normal values times <paramref name="scale"/>.</summary>
    public Tensor Normal(Shape shape, double scale = 1)
    {
        var v = new double[shape.Size];
        for (int i = 0; i < v.Length; i++) v[i] = scale * _rng.StandardNormal();
        return Tensor.FromSpan<double>(v, shape);
    }

    /// <summary>Values of random sign with magnitude in [<paramref name="min"/>, <paramref name="max"/>): safe for relu and abs (|x| &gt;= 0.1 &gt; 0.05).</summary>
    public Tensor AwayFromZero(Shape shape, double min = KinkMargin, double max = 2)
    {
        var v = new double[shape.Size];
        for (int i = 0; i < v.Length; i++)
        {
            double m = min + (max - min) * _rng.NextDouble();
            v[i] = _rng.NextDouble() < 0.5 ? -m : m;
        }
        return Tensor.FromSpan<double>(v, shape);
    }

    /// <summary>Positive values in [<paramref name="low"/>, <paramref name="high"/>): safe for log and sqrt.</summary>
    public Tensor Positive(Shape shape, double low = 0.5, double high = 2.5) => Uniform(shape, low, high);

    /// <summary>Denominators: random sign, magnitude in [0.5, 2), well away from 0.</summary>
    public Tensor Denominator(Shape shape) => AwayFromZero(shape, 0.5, 2);

    /// <summary>
    /// Values at offsets from <paramref name="reference"/> whose magnitudes avoid [0, margin] and
    /// [kink - margin, kink + margin] (MAE's kink is at offset 0; Huber's also at |offset| = delta).
    /// Magnitudes lie in (margin, 2 * kink + margin) when a kink is given, else in (margin, 1.5).
    /// </summary>
    public Tensor OffsetFrom(Tensor reference, double? kink = null, double margin = KinkMargin)
    {
        var src = reference.AsSpan<double>();
        var v = new double[src.Length];
        double hi = kink is double k ? 2 * k + margin : 1.5;
        for (int i = 0; i < v.Length; i++)
        {
            double m;
            do m = margin + (hi - margin) * _rng.NextDouble();
            while (kink is double kk && Math.Abs(m - kk) <= margin);
            v[i] = src[i] + (_rng.NextDouble() < 0.5 ? -m : m);
        }
        return Tensor.FromSpan<double>(v, reference.Shape);
    }
}
