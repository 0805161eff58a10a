using System.Globalization;

namespace Rnnx.Data;

/// <summary>A value transform applied to the whole series before scaling (see docs/forecasting.md).</summary>
public enum SeriesTransformKind
{
    /// <summary>The values as they are.</summary>
    None,

    /// <summary>The natural logarithm: turns a multiplicative season (amplitude growing with the level) into an additive one. Needs positive values.</summary>
    Log,

    /// <summary>
    /// The Box–Cox power transform (Box &amp; Cox 1964, "An Analysis of Transformations"): (x^λ − 1) / λ, and log x
    /// when λ = 0. Needs positive values.
    /// </summary>
    BoxCox,
}

/// <summary>
/// A transform of the values before the scaler sees them (<see cref="Apply"/>) and its inverse on forecasts
/// (<see cref="Inverse"/>): <see cref="None"/>, <see cref="Log"/> or <see cref="BoxCox(double)"/> with a given λ, or
/// λ estimated on the training part by maximum likelihood (<see cref="EstimateBoxCox"/>). Arithmetic is in double,
/// rounded once to float.
/// </summary>
public sealed record SeriesTransform
{
    /// <summary>The smallest and largest λ <see cref="BoxCox(double)"/> accepts and <see cref="EstimateBoxCox"/> searches (as R's forecast::BoxCox.lambda, [−1, 2]).</summary>
    public const double MinLambda = -1, MaxLambda = 2;

    private SeriesTransform(SeriesTransformKind kind, double lambda)
    {
        Kind = kind;
        Lambda = lambda;
    }

    /// <summary>No transform.</summary>
    public static SeriesTransform None { get; } = new(SeriesTransformKind.None, 1);

    /// <summary>The natural logarithm (Box–Cox with λ = 0, kept apart because it is the usual remedy and the name users look for).</summary>
    public static SeriesTransform Log { get; } = new(SeriesTransformKind.Log, 0);

    /// <summary>The Box–Cox transform with a given λ.</summary>
    /// <exception cref="ArgumentOutOfRangeException">λ outside [<see cref="MinLambda"/>, <see cref="MaxLambda"/>] or not finite.</exception>
    public static SeriesTransform BoxCox(double lambda)
    {
        if (!(lambda >= MinLambda && lambda <= MaxLambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, string.Create(CultureInfo.InvariantCulture, $"the Box-Cox lambda must be between {MinLambda} and {MaxLambda}."));
        return new SeriesTransform(SeriesTransformKind.BoxCox, lambda);
    }

    /// <summary>The kind of transform.</summary>
    public SeriesTransformKind Kind { get; }

    /// <summary>Box–Cox's λ (0 for <see cref="Log"/>, 1 for <see cref="None"/>).</summary>
    public double Lambda { get; }

    /// <summary>Whether the transform needs positive values.</summary>
    public bool NeedsPositive => Kind != SeriesTransformKind.None;

    /// <summary>The name the CLI and docs use: none, log, box-cox.</summary>
    public string Name => NameOf(Kind);

    /// <summary>The name of a kind: none, log, box-cox.</summary>
    public static string NameOf(SeriesTransformKind kind) => kind switch
    {
        SeriesTransformKind.None => "none",
        SeriesTransformKind.Log => "log",
        SeriesTransformKind.BoxCox => "box-cox",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown transform."),
    };

    /// <summary>The kind named <paramref name="name"/> (see <see cref="NameOf"/>).</summary>
    /// <exception cref="ArgumentException">An unknown name (the message lists the known ones).</exception>
    public static SeriesTransformKind ParseKind(string name)
    {
        foreach (var k in Enum.GetValues<SeriesTransformKind>())
            if (string.Equals(NameOf(k), name, StringComparison.Ordinal)) return k;
        throw new ArgumentException($"unknown transform '{name}'; transforms: {string.Join(", ", Enum.GetValues<SeriesTransformKind>().Select(NameOf))}", nameof(name));
    }

    /// <summary>The transformed value of <paramref name="x"/> (NaN when <paramref name="x"/> is not positive and the transform needs it).</summary>
    public double Forward(double x)
    {
        if (Kind == SeriesTransformKind.None) return x;
        if (!(x > 0)) return double.NaN;
        return Lambda == 0 ? Math.Log(x) : (Math.Pow(x, Lambda) - 1) / Lambda;
    }

    /// <summary>
    /// The value whose transform is <paramref name="y"/>. For Box–Cox, where λy + 1 ≤ 0 has no preimage, the limit
    /// is returned: 0 for λ &gt; 0 and +∞ for λ &lt; 0 (ONNX's Pow of the clamped base gives the same).
    /// </summary>
    public double Backward(double y)
    {
        if (Kind == SeriesTransformKind.None) return y;
        if (Lambda == 0) return Math.Exp(y);
        double b = Math.Max(Lambda * y + 1, 0);
        return Math.Pow(b, 1 / Lambda);
    }

    /// <summary>
    /// The transformed series (a new array; <paramref name="values"/> itself for <see cref="None"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A value is not positive for a transform that needs it (the message names its index).</exception>
    public float[] Apply(float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (Kind == SeriesTransformKind.None) return values;
        if (FirstNotPositive(values) is int bad)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"the {Name} transform needs positive values; value {bad} (0-based) is {values[bad]}."), nameof(values));
        var t = new float[values.Length];
        for (int i = 0; i < values.Length; i++) t[i] = (float)Forward(values[i]);
        return t;
    }

    /// <summary>The index of the first value that is not positive (NaN counts), or null when all are positive.</summary>
    public static int? FirstNotPositive(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!(values[i] > 0)) return i;
        return null;
    }

    /// <summary>Turns transformed values back into series values, in place.</summary>
    public void Inverse(Span<float> values)
    {
        if (Kind == SeriesTransformKind.None) return;
        for (int i = 0; i < values.Length; i++) values[i] = (float)Backward(values[i]);
    }

    /// <summary>
    /// Box–Cox with the λ in [<see cref="MinLambda"/>, <see cref="MaxLambda"/>] that maximizes the profile
    /// log-likelihood of <paramref name="training"/> (scipy.stats.boxcox_llf: −n/2·log σ²(y_λ) + (λ − 1)·Σ log x;
    /// the training part only, so the test part stays unseen). The maximum is bracketed on a 0.05 grid and refined by
    /// golden-section search to 1e-6.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two values, a value that is not positive (its index named), or values all equal.</exception>
    public static SeriesTransform EstimateBoxCox(ReadOnlySpan<float> training)
    {
        if (training.Length < 2) throw new ArgumentException($"estimating the Box-Cox lambda needs at least 2 values, got {training.Length}.", nameof(training));
        if (FirstNotPositive(training) is int bad)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"the box-cox transform needs positive values; value {bad} (0-based) is {training[bad]}."), nameof(training));
        var logs = new double[training.Length];
        double sumLog = 0;
        for (int i = 0; i < logs.Length; i++) sumLog += logs[i] = Math.Log(training[i]);
        if (logs.All(l => l == logs[0])) throw new ArgumentException("estimating the Box-Cox lambda needs values that are not all equal.", nameof(training));
        double LogLikelihood(double lambda)
        {
            double mean = 0;
            Span<double> y = logs.Length <= 4096 ? stackalloc double[logs.Length] : new double[logs.Length];
            for (int i = 0; i < logs.Length; i++)
                mean += y[i] = lambda == 0 ? logs[i] : (Math.Exp(lambda * logs[i]) - 1) / lambda;
            mean /= logs.Length;
            double var = 0;
            foreach (var v in y) var += (v - mean) * (v - mean);
            var /= logs.Length;
            return -0.5 * logs.Length * Math.Log(var) + (lambda - 1) * sumLog;
        }
        const double step = 0.05;
        int steps = (int)Math.Round((MaxLambda - MinLambda) / step);
        int best = 0;
        double bestValue = double.NegativeInfinity;
        for (int k = 0; k <= steps; k++)
        {
            double v = LogLikelihood(MinLambda + k * step);
            if (v > bestValue) { bestValue = v; best = k; }
        }
        double lo = MinLambda + Math.Max(best - 1, 0) * step, hi = MinLambda + Math.Min(best + 1, steps) * step;
        double ratio = (Math.Sqrt(5) - 1) / 2;
        double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo), fa = LogLikelihood(a), fb = LogLikelihood(b);
        while (hi - lo > 1e-6)
        {
            if (fa >= fb) { hi = b; b = a; fb = fa; a = hi - ratio * (hi - lo); fa = LogLikelihood(a); }
            else { lo = a; a = b; fa = fb; b = lo + ratio * (hi - lo); fb = LogLikelihood(b); }
        }
        double lambda = Math.Clamp(Math.Round((lo + hi) / 2, 6), MinLambda, MaxLambda);
        return BoxCox(lambda);
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == SeriesTransformKind.BoxCox
        ? string.Create(CultureInfo.InvariantCulture, $"box-cox (lambda {Lambda:R})")
        : Name;
}
