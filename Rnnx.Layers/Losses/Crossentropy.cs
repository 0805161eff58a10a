namespace Rnnx.Losses;

/// <summary>
/// The three Keras cross-entropies, built from Core's differentiable ops in the numerically stable forms Keras's
/// TensorFlow backend uses (keras/src/backend/tensorflow/nn.py, keras/src/losses/losses.py):
/// from logits through softplus / log-softmax (never the log of a rounded probability), from probabilities with the
/// predictions clipped to [ε, 1 − ε], ε = 1e-7 (Keras's <c>backend.epsilon()</c>).
/// </summary>
internal static class Crossentropy
{
    /// <summary>Keras's fuzz factor <c>backend.epsilon()</c>.</summary>
    public const double Epsilon = 1e-7;

    public static void CheckSmoothing(string loss, double labelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, $"{loss}: label_smoothing must be in [0, 1].");
    }

    public static void CheckSameShape(string loss, Tensor yTrue, Tensor yPred)
    {
        if (yTrue.Shape != yPred.Shape)
            throw new ShapeMismatchException($"{loss}: targets {yTrue.Shape} and predictions {yPred.Shape} must have the same shape.");
    }

    /// <summary>Per element: softplus(z) − t z from logits, else −(t log p + (1 − t) log(1 − p)) with p clipped.</summary>
    public static Tensor BinaryElementwise(Tensor t, Tensor yPred, bool fromLogits)
    {
        if (fromLogits) return Tensor.Softplus(yPred) - t * yPred;
        var p = Tensor.Clip(yPred, Epsilon, 1 - Epsilon);
        return -(t * Tensor.Log(p) + (1.0 - t) * Tensor.Log(1.0 - p));
    }

    /// <summary>
    /// log q along the last axis: log-softmax of logits, or, for probabilities, log of the row-normalized and clipped
    /// predictions (Keras divides by the row sum first).
    /// </summary>
    public static Tensor LogProbabilities(Tensor yPred, bool fromLogits)
    {
        if (fromLogits) return Tensor.LogSoftmax(yPred, -1);
        var p = yPred / Tensor.Sum(yPred, keepDims: true, -1);
        return Tensor.Log(Tensor.Clip(p, Epsilon, 1 - Epsilon));
    }
}

/// <summary>Keras <c>BinaryCrossentropy</c>: per sample the mean over the last axis of the element-wise binary cross-entropy.</summary>
internal sealed class BinaryCrossentropyLoss(bool fromLogits, double labelSmoothing) : Loss
{
    public override string Name => "binary_crossentropy";

    public override bool FromLogits => fromLogits;

    public override double LabelSmoothing => labelSmoothing;

    public override Tensor ComputeValues(Tensor yTrue, Tensor yPred)
    {
        Crossentropy.CheckSameShape(Name, yTrue, yPred);
        // Keras squeezes the labels toward 0.5: t (1 − ls) + ls / 2.
        var t = labelSmoothing > 0 ? yTrue * (1 - labelSmoothing) + 0.5 * labelSmoothing : yTrue;
        return Tensor.Mean(Crossentropy.BinaryElementwise(t, yPred, fromLogits), -1);
    }
}

/// <summary>Keras <c>CategoricalCrossentropy</c>: per sample −Σ t log q over the class (last) axis, one-hot targets.</summary>
internal sealed class CategoricalCrossentropyLoss(bool fromLogits, double labelSmoothing) : Loss
{
    public override string Name => "categorical_crossentropy";

    public override bool FromLogits => fromLogits;

    public override double LabelSmoothing => labelSmoothing;

    public override Tensor ComputeValues(Tensor yTrue, Tensor yPred)
    {
        Crossentropy.CheckSameShape(Name, yTrue, yPred);
        // Keras spreads ls over the classes: t (1 − ls) + ls / classes.
        var t = labelSmoothing > 0 ? yTrue * (1 - labelSmoothing) + labelSmoothing / yPred.Shape.Last : yTrue;
        return -Tensor.Sum(t * Crossentropy.LogProbabilities(yPred, fromLogits), -1);
    }
}

/// <summary>
/// Keras <c>SparseCategoricalCrossentropy</c>: targets are class indices (samples, ...) or (samples, ..., 1), the
/// predictions (samples, ..., classes); per sample −log q[target]. From probabilities, Keras clips and takes the log,
/// then applies softmax cross-entropy to that log, which renormalizes the clipped row: log-softmax(log clip(p)).
/// </summary>
internal sealed class SparseCategoricalCrossentropyLoss(bool fromLogits) : Loss
{
    public override string Name => "sparse_categorical_crossentropy";

    public override bool FromLogits => fromLogits;

    public override bool TakesClassIndices => true;

    public override Tensor ComputeValues(Tensor yTrue, Tensor yPred)
    {
        var labels = SqueezeClassIndices(Name, yTrue, yPred);
        var logits = fromLogits ? yPred : Tensor.Log(Tensor.Clip(yPred, Crossentropy.Epsilon, 1 - Crossentropy.Epsilon));
        var oneHot = Tensor.OneHot(labels, yPred.Shape.Last);
        return -Tensor.Sum(oneHot * Tensor.LogSoftmax(logits, -1), -1);
    }
}
