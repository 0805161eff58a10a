namespace Rnnx.Metrics;

/// <summary>
/// A metric as Keras's <c>MeanMetricWrapper</c>: a function returns per-sample values (e.g. shape (batch,) or
/// (batch, time)); the epoch value is the sum of all values seen divided by their count.
/// </summary>
/// <example>
/// The chapter's metric:
/// <code>
/// var lastTimeStepMse = Metric.FromFunction("last_time_step_mse",
///     (yTrue, yPred) =&gt; Metric.MeanSquaredErrorValues(Tensor.Select(yTrue, 1, -1), Tensor.Select(yPred, 1, -1)));
/// </code>
/// </example>
public sealed class Metric
{
    private readonly Func<Tensor, Tensor, Tensor> _values;

    private Metric(string name, Func<Tensor, Tensor, Tensor> values)
    {
        Name = name;
        _values = values;
    }

    /// <summary>The name used in History and logs (e.g. <c>last_time_step_mse</c>; validation adds <c>val_</c>).</summary>
    public string Name { get; }

    /// <summary>A metric from a function of (targets, predictions) returning per-sample values.</summary>
    public static Metric FromFunction(string name, Func<Tensor, Tensor, Tensor> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(values);
        return new Metric(name, values);
    }

    /// <summary>Keras's <c>mse</c> metric: mean over the last axis of squared errors, averaged over everything else.</summary>
    public static Metric MeanSquaredError { get; } = new("mse", MeanSquaredErrorValues);

    /// <summary>Keras's <c>mae</c> metric.</summary>
    public static Metric MeanAbsoluteError { get; } = new("mae", (t, p) => Tensor.Mean(Tensor.Abs(p - t), -1));

    /// <summary>Per-sample mean squared error over the last axis (Keras <c>keras.metrics.mean_squared_error</c>).</summary>
    public static Tensor MeanSquaredErrorValues(Tensor yTrue, Tensor yPred)
    {
        if (yTrue.Shape != yPred.Shape)
            throw new ShapeMismatchException($"mean_squared_error: targets {yTrue.Shape} and predictions {yPred.Shape} differ.");
        return Tensor.Mean(Tensor.Square(yPred - yTrue), -1);
    }

    /// <summary>Looks up a built-in metric by Keras name.</summary>
    public static Metric Get(string name) => name switch
    {
        "mse" or "mean_squared_error" => MeanSquaredError,
        "mae" or "mean_absolute_error" => MeanAbsoluteError,
        _ => throw new ArgumentException($"Unknown metric '{name}'; use mse or mae, or Metric.FromFunction.", nameof(name)),
    };

    /// <summary>Converts a Keras metric name.</summary>
    public static implicit operator Metric(string name) => Get(name);

    /// <summary>Computes the per-sample values for a batch and returns their sum and count.</summary>
    public (double Sum, int Count) Evaluate(Tensor yTrue, Tensor yPred)
    {
        var v = _values(yTrue, yPred);
        double s = 0;
        if (v.DType == DType.Float32) foreach (var x in v.AsSpan<float>()) s += x;
        else foreach (var x in v.AsSpan<double>()) s += x;
        return (s, v.Size);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
