using Rnnx.Onnx;
using Rnnx.Random;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Inverted dropout (Keras's <c>Dropout</c>, keras/src/layers/regularization/dropout.py): while training, each input
/// element is set to 0 with probability <see cref="Rate"/> and the others are scaled by 1 / (1 − rate); at inference
/// (<c>Predict</c>, <c>Evaluate</c>, <c>training: false</c>) the input passes unchanged. The mask is drawn from the
/// <see cref="TrainingContext"/> (reproducible, independent of threads and shards).
/// </summary>
[SavedAs("Dropout")]
public class Dropout : Layer
{
    private readonly int?[]? _noiseShape;
    private long _callsOutsideContext;

    /// <summary>Creates the layer.</summary>
    /// <param name="rate">Fraction of the input units to drop, in [0, 1).</param>
    /// <param name="noiseShape">
    /// Optional shape of the mask, batch axis included, broadcast over the input: each dimension null (the input's) or
    /// 1 or the input's size; e.g. <c>[null, 1, null]</c> drops the same features at every time step.
    /// </param>
    /// <param name="seed">Optional seed of this layer's masks (Keras's <c>seed</c>); by default the model's seed and the layer's name.</param>
    /// <param name="name">Optional name.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside [0, 1).</exception>
    /// <exception cref="ArgumentException">A noise-shape dimension is not positive.</exception>
    public Dropout(double rate, int?[]? noiseShape = null, int? seed = null, string? name = null) : base(name)
    {
        Rate = TrainingContext.CheckRate(GetType().Name, nameof(rate), rate);
        if (noiseShape is not null && noiseShape.Any(d => d is <= 0))
            throw new ArgumentException($"{GetType().Name}: noiseShape {ShapeText(noiseShape)} has a non-positive dimension.", nameof(noiseShape));
        _noiseShape = noiseShape is null ? null : (int?[])noiseShape.Clone();
        Seed = seed;
    }

    /// <summary>Fraction of the input units dropped while training.</summary>
    public double Rate { get; }

    /// <summary>The mask's shape (batch axis included), or null for the input's shape.</summary>
    public IReadOnlyList<int?>? NoiseShape => _noiseShape;

    /// <summary>The layer's own seed, or null to draw from the model's.</summary>
    public int? Seed { get; }

    /// <summary>
    /// True: the noise acts element by element, so a mask passes through unchanged (Keras sets <c>supports_masking</c>,
    /// keras/src/layers/regularization/dropout.py); masked steps get noise too, as in Keras.
    /// </summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (!training || Rate == 0) return input;
        var shape = MaskShape(input.Shape);
        var key = TrainingContext.KeyFor(this, Seed, 0, ref _callsOutsideContext);
        // A mask shared by the whole batch must not depend on which rows a shard holds.
        if (shape[0] == 1 && input.Shape[0] != 1) key = key with { FirstRow = 0 };
        return input * Tensor.DropoutMask(shape, Rate, key, input.DType);
    }

    /// <summary>The mask's shape for an input: the noise shape resolved against it (broadcastable), or the input's.</summary>
    private protected virtual Shape MaskShape(Shape input)
    {
        if (_noiseShape is null) return input;
        if (_noiseShape.Length != input.Rank)
            throw ShapeError($"noiseShape {ShapeText(_noiseShape)} has rank {_noiseShape.Length}, the input {input} has rank {input.Rank}.");
        Span<int> dims = stackalloc int[input.Rank];
        for (int i = 0; i < dims.Length; i++)
        {
            int d = _noiseShape[i] ?? input[i];
            if (d != 1 && d != input[i])
                throw ShapeError($"noiseShape {ShapeText(_noiseShape)} does not broadcast to the input {input} (axis {i}: {d} is neither 1 nor {input[i]}).");
            dims[i] = d;
        }
        return new Shape(dims);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("rate", Rate).Set("seed", Seed).Set("noise_shape", _noiseShape);

    internal static Dropout FromConfig(LayerConfig c) => new(c.GetDouble("rate"), c.GetShape("noise_shape"), c.GetIntOrNull("seed"), c.Name);

    /// <summary>Dropout disappears at inference: an ONNX Identity.</summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("Identity", $"{path}/identity", [input]);

    internal override bool ActsOnLastAxisOnly => _noiseShape is null;
}

/// <summary>
/// Dropout of whole feature channels (Keras's <c>SpatialDropout1D</c>, keras/src/layers/regularization/spatial_dropout.py):
/// on (batch, time, channels) the mask has shape (batch, 1, channels), so a dropped channel is zero at every time step.
/// </summary>
[SavedAs("SpatialDropout1D")]
public sealed class SpatialDropout1D(double rate, int? seed = null, string? name = null) : Dropout(rate, null, seed, name)
{
    /// <inheritdoc />
    protected override string DefaultName => "spatial_dropout1d";

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) =>
        inputShape.Length == 2 ? inputShape : throw ShapeError($"expects input (batch, time, channels), got rank {inputShape.Length + 1}.");

    private protected override Shape MaskShape(Shape input) =>
        input.Rank == 3 ? new Shape(input[0], 1, input[2]) : throw ShapeError($"expects input (batch, time, channels), got {input}.");

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("rate", Rate).Set("seed", Seed);

    internal static new SpatialDropout1D FromConfig(LayerConfig c) => new(c.GetDouble("rate"), c.GetIntOrNull("seed"), c.Name);

    internal override bool ActsOnLastAxisOnly => false;
}
