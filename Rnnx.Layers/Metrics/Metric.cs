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

    /// <summary>
    /// A metric from a function of (targets, predictions) returning per-sample values. Training and evaluation call it
    /// from several threads at once (one call per shard or batch): it must not keep state between calls.
    /// </summary>
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

    /// <summary>
    /// Keras's <c>binary_accuracy</c>: 1 where (prediction &gt; threshold) equals the 0/1 target, per element.
    /// </summary>
    public static Metric BinaryAccuracy(double threshold = 0.5) =>
        new("binary_accuracy", (t, p) => BinaryAccuracyValues(t, p, threshold));

    /// <summary>Keras's <c>categorical_accuracy</c>: 1 where the arg-max of the one-hot target equals the prediction's.</summary>
    public static Metric CategoricalAccuracy { get; } = new("categorical_accuracy", CategoricalAccuracyValues);

    /// <summary>Keras's <c>sparse_categorical_accuracy</c>: 1 where the class-index target equals the prediction's arg-max.</summary>
    public static Metric SparseCategoricalAccuracy { get; } = new("sparse_categorical_accuracy", SparseCategoricalAccuracyValues);

    /// <summary>Keras's <c>top_k_categorical_accuracy</c> (k = 5): 1 where the one-hot target's class is among the k largest predictions.</summary>
    public static Metric TopKCategoricalAccuracy(int k = 5)
    {
        CheckK(k);
        return new("top_k_categorical_accuracy", (t, p) => Tensor.InTopK(p, Tensor.ArgMax(CheckSame("top_k_categorical_accuracy", t, p)), k));
    }

    /// <summary>Keras's <c>sparse_top_k_categorical_accuracy</c> (k = 5) with class-index targets.</summary>
    public static Metric SparseTopKCategoricalAccuracy(int k = 5)
    {
        CheckK(k);
        return new("sparse_top_k_categorical_accuracy", (t, p) => Tensor.InTopK(p, Losses.Loss.SqueezeClassIndices("sparse_top_k_categorical_accuracy", t, p), k));
    }

    /// <summary>
    /// Keras's <c>"accuracy"</c> string: per batch, binary accuracy when the prediction's last axis is 1, sparse
    /// categorical when the targets have a lower rank or a last axis of 1, categorical otherwise (the rule of
    /// keras/src/trainers/compile_utils.py, <c>is_binary_or_sparse_categorical</c>). The name stays <c>accuracy</c>.
    /// </summary>
    public static Metric Accuracy { get; } = new("accuracy", (t, p) =>
    {
        if (p.Rank == 0) throw new ShapeMismatchException($"accuracy: predictions {p.Shape} have no class axis.");
        if (p.Shape.Last == 1) return BinaryAccuracyValues(t, p, 0.5);
        if (t.Rank < p.Rank || t.Shape.Last == 1) return SparseCategoricalAccuracyValues(t, p);
        return CategoricalAccuracyValues(t, p);
    });

    private static Tensor BinaryAccuracyValues(Tensor yTrue, Tensor yPred, double threshold)
    {
        var t = yTrue.Shape == yPred.Shape || yTrue.Size != yPred.Size ? yTrue : Tensor.Reshape(yTrue, yPred.Shape);
        return Tensor.EqualMask(CheckSame("binary_accuracy", t, yPred), Tensor.GreaterMask(yPred, threshold));
    }

    private static Tensor CategoricalAccuracyValues(Tensor yTrue, Tensor yPred) =>
        Tensor.EqualMask(Tensor.ArgMax(CheckSame("categorical_accuracy", yTrue, yPred)), Tensor.ArgMax(yPred));

    private static Tensor SparseCategoricalAccuracyValues(Tensor yTrue, Tensor yPred) =>
        Tensor.EqualMask(Losses.Loss.SqueezeClassIndices("sparse_categorical_accuracy", yTrue, yPred), Tensor.ArgMax(yPred));

    private static Tensor CheckSame(string metric, Tensor yTrue, Tensor yPred) => yTrue.Shape == yPred.Shape
        ? yTrue
        : throw new ShapeMismatchException($"{metric}: targets {yTrue.Shape} and predictions {yPred.Shape} differ.");

    private static void CheckK(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "top-k accuracy: k must be at least 1.");
    }

    /// <summary>Looks up a built-in metric by Keras name.</summary>
    public static Metric Get(string name) => name switch
    {
        "mse" or "mean_squared_error" => MeanSquaredError,
        "mae" or "mean_absolute_error" => MeanAbsoluteError,
        "accuracy" or "acc" => Accuracy,
        "binary_accuracy" => BinaryAccuracy(),
        "categorical_accuracy" => CategoricalAccuracy,
        "sparse_categorical_accuracy" => SparseCategoricalAccuracy,
        "top_k_categorical_accuracy" => TopKCategoricalAccuracy(),
        "sparse_top_k_categorical_accuracy" => SparseTopKCategoricalAccuracy(),
        _ => throw new ArgumentException($"Unknown metric '{name}'; use mse, mae, accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy or sparse_top_k_categorical_accuracy, or Metric.FromFunction.", nameof(name)),
    };

    /// <summary>Converts a Keras metric name.</summary>
    public static implicit operator Metric(string name) => Get(name);

    /// <summary>
    /// Weighted form (Keras's <c>Mean.update_state</c> with <c>sample_weight</c>): the values are first averaged per
    /// sample over the axes the weights lack, then the sum is Σ w·v and the count Σ w.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The weights do not match the leading axes of the values.</exception>
    public (double Sum, double Count) Evaluate(Tensor yTrue, Tensor yPred, Tensor sampleWeight)
    {
        var v = _values(yTrue, yPred);
        var w = sampleWeight;
        bool leading = w.Rank >= 1 && w.Rank <= v.Rank;
        for (int i = 0; leading && i < w.Rank; i++) leading = w.Shape[i] == v.Shape[i];
        if (!leading)
            throw new ShapeMismatchException($"{Name}: sample weights {w.Shape} must match the leading axes of the metric values {v.Shape}.");
        int per = v.Size / Math.Max(1, w.Size);
        double s = 0, c = 0;
        for (int i = 0; i < w.Size; i++)
        {
            double mean = 0;
            for (int j = 0; j < per; j++) mean += v.GetValue(i * per + j);
            double wi = w.GetValue(i);
            s += wi * (mean / per);
            c += wi;
        }
        return (s, c);
    }

    /// <summary>
    /// The metric over the unmasked steps only: the mask (batch, time) of the model's output as weights (times the
    /// sample weights when given; Keras's <c>MeanMetricWrapper</c> with <c>apply_mask(..., reduction="sum")</c>), so the
    /// value is Σ m·v / Σ m. Without a mask, the plain or weighted form.
    /// </summary>
    public (double Sum, double Count) Evaluate(Tensor yTrue, Tensor yPred, Tensor? sampleWeight, Tensor? mask)
    {
        if (mask is Tensor m) return Evaluate(yTrue, yPred, Losses.Loss.MaskWeights(m, sampleWeight, normalize: false));
        if (sampleWeight is Tensor w) return Evaluate(yTrue, yPred, w);
        return Evaluate(yTrue, yPred);
    }

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
