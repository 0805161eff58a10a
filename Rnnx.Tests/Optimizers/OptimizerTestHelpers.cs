using Rnnx.Optimizers;

namespace Rnnx.Tests.Optimizers;

/// <summary>Small helpers shared by the optimizer tests: parameters from arrays, gradients, trajectories.</summary>
internal static class OptimizerTestHelpers
{
    /// <summary>
    /// The shared 5-element scenario of the reference script <c>Reference/optimizer_reference.py</c>
    /// (<c>theta0</c>, <c>grads</c>): values chosen to include a zero gradient, sign changes and a large element.
    /// Float32 runs convert these doubles to float exactly as numpy's <c>np.array(x, dtype=np.float32)</c> does.
    /// </summary>
    public static readonly double[] Theta0 = [0.5, -1.25, 2.0, 0.0, 3.5];

    /// <inheritdoc cref="Theta0"/>
    public static readonly double[][] Grads =
    [
        [0.1, -0.2, 0.3, 0.0, 1.5],
        [0.05, 0.4, -0.6, 0.2, -2.0],
        [-0.3, 0.1, 0.2, -0.1, 0.5],
        [0.2, -0.05, 0.1, 0.3, 0.25],
    ];

    public static Parameter Param(string name, params float[] values) => new(name, Tensor.FromArray(values, values.Length));

    public static Parameter Param(string name, params double[] values) => new(name, Tensor.FromArray(values, values.Length));

    public static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    public static void SetGradient(Gradients gradients, Parameter p, ReadOnlySpan<float> values) => values.CopyTo(gradients.GetSpan<float>(p));

    public static void SetGradient(Gradients gradients, Parameter p, ReadOnlySpan<double> values) => values.CopyTo(gradients.GetSpan<double>(p));

    public static float[] Values32(Parameter p) => p.AsSpan<float>().ToArray();

    public static double[] Values64(Parameter p) => p.AsSpan<double>().ToArray();

    /// <summary>Runs <paramref name="optimizer"/> from <paramref name="theta0"/> over the gradient sequence in float32; returns θ after each step.</summary>
    public static float[][] Run32(Optimizer optimizer, double[] theta0, double[][] grads)
    {
        var p = Param("w", ToFloat(theta0));
        var g = new Gradients();
        var trajectory = new float[grads.Length][];
        for (int s = 0; s < grads.Length; s++)
        {
            SetGradient(g, p, ToFloat(grads[s]));
            optimizer.Step([p], g);
            trajectory[s] = Values32(p);
        }
        return trajectory;
    }

    /// <summary>Runs <paramref name="optimizer"/> from <paramref name="theta0"/> over the gradient sequence in float64; returns θ after each step.</summary>
    public static double[][] Run64(Optimizer optimizer, double[] theta0, double[][] grads)
    {
        var p = Param("w", (double[])theta0.Clone());
        var g = new Gradients();
        var trajectory = new double[grads.Length][];
        for (int s = 0; s < grads.Length; s++)
        {
            SetGradient(g, p, grads[s]);
            optimizer.Step([p], g);
            trajectory[s] = Values64(p);
        }
        return trajectory;
    }

    /// <summary>Minimizes θ²/2 (gradient = θ) in float64 from θ = <paramref name="theta0"/>; returns θ after each step.</summary>
    public static double[] RunQuadratic64(Optimizer optimizer, double theta0, int steps)
    {
        var p = Param("theta", theta0);
        var g = new Gradients();
        var trajectory = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            g.GetSpan<double>(p)[0] = p.AsSpan<double>()[0];
            optimizer.Step([p], g);
            trajectory[s] = p.AsSpan<double>()[0];
        }
        return trajectory;
    }

    /// <summary>Minimizes θ²/2 (gradient = θ) in float32 from θ = <paramref name="theta0"/>; returns θ after each step.</summary>
    public static float[] RunQuadratic32(Optimizer optimizer, float theta0, int steps)
    {
        var p = Param("theta", theta0);
        var g = new Gradients();
        var trajectory = new float[steps];
        for (int s = 0; s < steps; s++)
        {
            g.GetSpan<float>(p)[0] = p.AsSpan<float>()[0];
            optimizer.Step([p], g);
            trajectory[s] = p.AsSpan<float>()[0];
        }
        return trajectory;
    }

    /// <summary>Asserts bit equality of float32 trajectories (the float32 path reproduces the reference's rounding exactly).</summary>
    public static void AssertBitExact(float[,] expected, float[][] actual)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.GetLength(0)));
        for (int s = 0; s < actual.Length; s++)
        {
            for (int i = 0; i < actual[s].Length; i++)
            {
                Assert.That(BitConverter.SingleToInt32Bits(actual[s][i]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[s, i])),
                    $"step {s + 1}, element {i}: expected {expected[s, i]:R}, got {actual[s][i]:R}");
            }
        }
    }

    /// <summary>Asserts float64 trajectories agree to within <paramref name="relative"/>·max(1, |expected|).</summary>
    public static void AssertClose(double[,] expected, double[][] actual, double relative)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.GetLength(0)));
        for (int s = 0; s < actual.Length; s++)
        {
            for (int i = 0; i < actual[s].Length; i++)
            {
                double e = expected[s, i];
                Assert.That(actual[s][i], Is.EqualTo(e).Within(relative * Math.Max(1, Math.Abs(e))), $"step {s + 1}, element {i}");
            }
        }
    }

    /// <summary>Asserts every element is within <paramref name="tolerance"/> of the table row (Keras golden tables).</summary>
    public static void AssertTable(double[,] table, int row, ReadOnlySpan<double> actual, double tolerance)
    {
        for (int i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(table[row, i]).Within(tolerance), $"row {row}, element {i}");
    }
}
