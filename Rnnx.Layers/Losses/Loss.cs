namespace Rnnx.Losses;

/// <summary>
/// A training loss: a scalar, the mean over the batch (Keras's <c>sum_over_batch_size</c> reduction), differentiable
/// through the tape.
/// </summary>
public abstract class Loss
{
    /// <summary>Keras-style name, e.g. <c>mean_squared_error</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The scalar loss for a batch; shapes are equal (targets are aligned by the model first), except for losses that
    /// take class indices (<see cref="TakesClassIndices"/>). The default is the mean of <see cref="ComputeValues"/>.
    /// </summary>
    public virtual Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.Mean(ComputeValues(yTrue, yPred));

    /// <summary>
    /// The unreduced loss, one value per sample (and per step for sequences): the loss function's result before
    /// Keras's reduction, e.g. shape (batch,) for (batch, classes) predictions.
    /// </summary>
    /// <exception cref="NotSupportedException">The loss computes only the reduced scalar (a user loss that does not override this).</exception>
    public virtual Tensor ComputeValues(Tensor yTrue, Tensor yPred) =>
        throw new NotSupportedException($"Loss '{Name}' gives only a batch mean; override ComputeValues to use sample or class weights with it.");

    /// <summary>
    /// Keras's <c>sum_over_batch_size</c> reduction with sample weights: Σ w ⊙ values / (number of values), the weights
    /// (batch,) or (batch, steps...) broadcast over the trailing axes of <see cref="ComputeValues"/>'s result. Zero
    /// weights drop a sample without changing the divisor, as Keras.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The weights do not match the leading axes of the values.</exception>
    public Tensor Compute(Tensor yTrue, Tensor yPred, Tensor sampleWeight)
    {
        var values = ComputeValues(yTrue, yPred);
        var w = sampleWeight;
        bool leading = w.Rank <= values.Rank;
        for (int i = 0; leading && i < w.Rank; i++) leading = w.Shape[i] == values.Shape[i];
        if (!leading)
            throw new ShapeMismatchException($"{Name}: sample weights {w.Shape} must match the leading axes of the per-sample losses {values.Shape}.");
        if (w.Rank < values.Rank)
        {
            Span<int> dims = stackalloc int[values.Rank];
            for (int i = 0; i < values.Rank; i++) dims[i] = i < w.Rank ? w.Shape[i] : 1;
            w = Tensor.Reshape(w, dims);
        }
        if (w.DType != values.DType) w = w.Copy(values.DType);
        return Tensor.Sum(values * w) / values.Size;
    }

    /// <summary>
    /// The loss with the mask of the model's output (Keras's loss masking, keras/src/losses/loss.py <c>apply_mask</c>):
    /// the mask (batch, time) becomes weights m · total / (valid + ε) (total = the mask's size, valid = Σ m, ε = 1e-7),
    /// times the sample weights if any, so the loss is Σ over unmasked steps / valid. Without a mask, the plain or
    /// sample-weighted loss.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The mask or weights do not match the leading axes of the per-step losses.</exception>
    public Tensor Compute(Tensor yTrue, Tensor yPred, Tensor? sampleWeight, Tensor? mask)
    {
        if (mask is not Tensor m) return sampleWeight is Tensor w ? Compute(yTrue, yPred, w) : Compute(yTrue, yPred);
        return Compute(yTrue, yPred, MaskWeights(m, sampleWeight, normalize: true));
    }

    /// <summary>
    /// The masked loss of one shard of a batch, scaled as Keras's whole-batch value: the mask's weights are
    /// m · <paramref name="batchTotal"/> / (<paramref name="batchValid"/> + ε) with the batch's mask size and unmasked
    /// count, so that the shard's result times its share of the batch (rows / batch rows) is its part of
    /// Σ over the batch's unmasked steps / batch valid, and the shards' values and gradients simply add.
    /// </summary>
    internal Tensor Compute(Tensor yTrue, Tensor yPred, Tensor? sampleWeight, Tensor? mask, double batchValid, double batchTotal)
    {
        if (mask is not Tensor m) return Compute(yTrue, yPred, sampleWeight, null);
        return Compute(yTrue, yPred, MaskWeights(m, sampleWeight, batchValid, batchTotal));
    }

    /// <summary>
    /// Keras's <c>apply_mask</c>: the mask in the weights' place, scaled by total / (valid + 1e-7) when
    /// <paramref name="normalize"/> (the <c>sum_over_batch_size</c> reduction of losses; metrics use the plain mask), then
    /// multiplied by the sample weights (batch,) or (batch, time) when given.
    /// </summary>
    public static Tensor MaskWeights(Tensor mask, Tensor? sampleWeight, bool normalize)
    {
        if (!normalize) return WithSampleWeights(mask, sampleWeight);
        return MaskWeights(mask, sampleWeight, Tensor.Sum(mask).Item(), mask.Size);
    }

    /// <summary><see cref="MaskWeights(Tensor, Tensor?, bool)"/> normalized by a given unmasked count and mask size (a batch's, for one shard of it).</summary>
    internal static Tensor MaskWeights(Tensor mask, Tensor? sampleWeight, double valid, double total)
    {
        double scale = mask.DType == DType.Float32 ? (float)total / ((float)valid + 1e-7f) : total / (valid + 1e-7);
        return WithSampleWeights(mask * scale, sampleWeight);
    }

    private static Tensor WithSampleWeights(Tensor w, Tensor? sampleWeight)
    {
        if (sampleWeight is not Tensor sw) return w;
        if (sw.DType != w.DType) sw = sw.Copy(w.DType);
        if (sw.Rank == 1 && sw.Shape[0] == w.Shape[0]) sw = Tensor.Reshape(sw, sw.Shape[0], 1);
        return w * sw;
    }

    /// <summary>True for losses whose targets are class indices (samples, ...) rather than the prediction's shape.</summary>
    public virtual bool TakesClassIndices => false;

    /// <summary>Whether predictions are logits (Keras <c>from_logits</c>); false for regression losses.</summary>
    public virtual bool FromLogits => false;

    /// <summary>Keras <c>label_smoothing</c> (0 when the loss has none).</summary>
    public virtual double LabelSmoothing => 0;

    /// <summary>Keras <c>BinaryCrossentropy(from_logits, label_smoothing)</c>: targets 0/1 (or soft), predictions of the same shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException">labelSmoothing outside [0, 1].</exception>
    public static Loss BinaryCrossentropy(bool fromLogits = false, double labelSmoothing = 0)
    {
        Crossentropy.CheckSmoothing("binary_crossentropy", labelSmoothing);
        return new BinaryCrossentropyLoss(fromLogits, labelSmoothing);
    }

    /// <summary>Keras <c>CategoricalCrossentropy(from_logits, label_smoothing)</c>: one-hot targets over the last axis.</summary>
    /// <exception cref="ArgumentOutOfRangeException">labelSmoothing outside [0, 1].</exception>
    public static Loss CategoricalCrossentropy(bool fromLogits = false, double labelSmoothing = 0)
    {
        Crossentropy.CheckSmoothing("categorical_crossentropy", labelSmoothing);
        return new CategoricalCrossentropyLoss(fromLogits, labelSmoothing);
    }

    /// <summary>Keras <c>SparseCategoricalCrossentropy(from_logits)</c>: integer class targets (samples, ...) or (samples, ..., 1).</summary>
    public static Loss SparseCategoricalCrossentropy(bool fromLogits = false) => new SparseCategoricalCrossentropyLoss(fromLogits);

    /// <summary>
    /// Class-index targets for predictions (..., classes): accepts the prediction's shape without the class axis or
    /// with a trailing axis of 1 (dropped), as Keras; anything else is refused naming <paramref name="what"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The targets do not fit the predictions.</exception>
    public static Tensor SqueezeClassIndices(string what, Tensor yTrue, Tensor yPred)
    {
        var expected = yPred.Shape.Remove(-1);
        if (yTrue.Shape == expected) return yTrue;
        if (yTrue.Rank == yPred.Rank && yTrue.Shape.Last == 1 && yTrue.Shape.Remove(-1) == expected)
            return Tensor.Reshape(yTrue, expected);
        throw new ShapeMismatchException($"{what}: class-index targets {yTrue.Shape} do not fit predictions {yPred.Shape} (expected {expected} or with a trailing 1).");
    }

    /// <summary>Mean squared error.</summary>
    public static Loss MeanSquaredError { get; } = new MeanSquaredErrorLoss();

    /// <summary>Mean absolute error.</summary>
    public static Loss MeanAbsoluteError { get; } = new MeanAbsoluteErrorLoss();

    /// <summary>Huber loss with threshold <paramref name="delta"/> (Keras default 1.0).</summary>
    public static Loss Huber(double delta = 1.0) => new HuberLoss(delta);

    /// <summary>Looks a loss up by Keras name or alias (<c>mse</c>, <c>mae</c>, <c>huber</c>, ...).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Loss Get(string name) => name switch
    {
        "mse" or "mean_squared_error" or "MeanSquaredError" => MeanSquaredError,
        "mae" or "mean_absolute_error" or "MeanAbsoluteError" => MeanAbsoluteError,
        "huber" or "huber_loss" or "Huber" => Huber(),
        "binary_crossentropy" or "BinaryCrossentropy" => BinaryCrossentropy(),
        "categorical_crossentropy" or "CategoricalCrossentropy" => CategoricalCrossentropy(),
        "sparse_categorical_crossentropy" or "SparseCategoricalCrossentropy" => SparseCategoricalCrossentropy(),
        _ => throw new ArgumentException($"Unknown loss '{name}'; use mse, mae, huber, binary_crossentropy, categorical_crossentropy or sparse_categorical_crossentropy, or subclass Loss.", nameof(name)),
    };

    /// <summary>
    /// A built-in cross-entropy by Keras name with its options (how saved models re-create their loss).
    /// </summary>
    /// <exception cref="ArgumentException">The loss has no such options (e.g. a regression loss with from_logits), or label smoothing outside [0, 1].</exception>
    public static Loss WithOptions(string name, bool fromLogits, double labelSmoothing) => name switch
    {
        "binary_crossentropy" => BinaryCrossentropy(fromLogits, labelSmoothing),
        "categorical_crossentropy" => CategoricalCrossentropy(fromLogits, labelSmoothing),
        "sparse_categorical_crossentropy" when labelSmoothing == 0 => SparseCategoricalCrossentropy(fromLogits),
        _ => throw new ArgumentException($"Loss '{name}' takes no from_logits = {fromLogits} / label_smoothing = {labelSmoothing}.", nameof(name)),
    };

    /// <summary>Converts a Keras loss name.</summary>
    public static implicit operator Loss(string name) => Get(name);

    /// <inheritdoc />
    public override string ToString() => Name;

    private sealed class MeanSquaredErrorLoss : Loss
    {
        public override string Name => "mean_squared_error";

        public override Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.MeanSquaredError(yTrue, yPred);

        public override Tensor ComputeValues(Tensor yTrue, Tensor yPred) => Tensor.Mean(Tensor.Square(yPred - yTrue), -1);
    }

    private sealed class MeanAbsoluteErrorLoss : Loss
    {
        public override string Name => "mean_absolute_error";

        public override Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.MeanAbsoluteError(yTrue, yPred);

        public override Tensor ComputeValues(Tensor yTrue, Tensor yPred) => Tensor.Mean(Tensor.Abs(yPred - yTrue), -1);
    }

    private sealed class HuberLoss(double delta) : Loss
    {
        public override string Name => "huber_loss";

        public override Tensor Compute(Tensor yTrue, Tensor yPred) => Tensor.Huber(yTrue, yPred, delta);

        public override Tensor ComputeValues(Tensor yTrue, Tensor yPred)
        {
            // q = min(|d|, δ): ½q² + δ(|d| − q) is d²/2 inside the threshold and δ(|d| − δ/2) outside.
            var a = Tensor.Abs(yPred - yTrue);
            var q = Tensor.Clip(a, 0, delta);
            return Tensor.Mean(0.5 * Tensor.Square(q) + delta * (a - q), -1);
        }
    }
}
