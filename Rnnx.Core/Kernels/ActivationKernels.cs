using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// The smooth activations Keras offers beside tanh/sigmoid/relu: softplus, gelu (exact, erf form), elu, selu and
/// swish, forward and accumulating backward. Element by element in double and rounded once to T, so the float32 and
/// float64 results agree to float32 rounding; none of them is on a fused recurrent path, so no vector form is kept.
/// </summary>
public static class ActivationKernels
{
    /// <summary>Keras's selu α (keras.activations.selu).</summary>
    public const double SeluAlpha = 1.6732632423543772848170429916717;

    /// <summary>Keras's selu scale (keras.activations.selu).</summary>
    public const double SeluScale = 1.0507009873554804934193349852946;

    private const double InvSqrt2 = 0.70710678118654752440084436210485;
    private const double InvSqrt2Pi = 0.39894228040143267793994605993438;
    private const double TwoOverSqrtPi = 1.1283791670955125738961589031215;

    /// <summary>softplus(x) = log(1 + eˣ), computed as max(x, 0) + log1p(e^−|x|) so it neither overflows nor loses small values.</summary>
    public static double Softplus(double x) => Math.Max(x, 0) + LogOnePlus(Math.Exp(-Math.Abs(x)));

    /// <summary>gelu(x) = x Φ(x) = ½ x (1 + erf(x / √2)) (Keras's default, approximate = false).</summary>
    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x * InvSqrt2));

    /// <summary>gelu′(x) = Φ(x) + x φ(x).</summary>
    public static double GeluDerivative(double x) => 0.5 * (1 + Erf(x * InvSqrt2)) + x * InvSqrt2Pi * Math.Exp(-0.5 * x * x);

    /// <summary>elu(x) = x for x &gt; 0, else α(eˣ − 1), with Keras's default α = 1.</summary>
    public static double Elu(double x) => x > 0 ? x : Math.Exp(x) - 1;

    /// <summary>selu(x) = scale · (x for x &gt; 0, else α(eˣ − 1)).</summary>
    public static double Selu(double x) => SeluScale * (x > 0 ? x : SeluAlpha * (Math.Exp(x) - 1));

    /// <summary>swish(x) = x σ(x) (Keras's swish, also called silu).</summary>
    public static double Swish(double x) => x * Sigmoid(x);

    /// <summary>swish′(x) = σ(x)(1 + x(1 − σ(x))).</summary>
    public static double SwishDerivative(double x)
    {
        double s = Sigmoid(x);
        return s * (1 + x * (1 - s));
    }

    /// <summary>σ(x) = 1 / (1 + e^−x) in double, without overflow for either sign.</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    private static double LogOnePlus(double v) => v < 1e-4 ? v * (1 - v * (0.5 - v / 3)) : Math.Log(1 + v);

    /// <summary>
    /// The error function to about 1e-15 relative: erf(x) = (2/√π) e^(−x²) Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), a series
    /// of positive terms (no cancellation) that converges for every x; |x| ≥ 6 gives ±1 (1 − erf(6) &lt; 3e−17).
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a >= 6) return Math.Sign(x);
        double term = a, sum = a, twoA2 = 2 * a * a;
        for (int n = 1; n < 400 && term > 1e-17 * sum; n++)
        {
            term *= twoA2 / (2 * n + 1);
            sum += term;
        }
        double r = Math.Min(1.0, TwoOverSqrtPi * Math.Exp(-a * a) * sum);
        return x < 0 ? -r : r;
    }

    /// <summary>y[i] = f(x[i]) for one of the functions above.</summary>
    public static void Map<T>(ReadOnlySpan<T> x, Span<T> y, Func<double, double> f) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = T.CreateTruncating(f(double.CreateTruncating(x[i])));
    }

    /// <summary>dx[i] += g[i] · f′(x[i], y[i]) for a derivative written with the input and the output.</summary>
    public static void BackwardAccumulate<T>(Span<T> dx, ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Func<double, double, double> derivative)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dx.Length; i++)
            dx[i] += g[i] * T.CreateTruncating(derivative(double.CreateTruncating(x[i]), double.CreateTruncating(y[i])));
    }
}
