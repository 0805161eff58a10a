using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Additive zero-centred Gaussian noise while training (Keras's <c>GaussianNoise</c>,
/// keras/src/layers/regularization/gaussian_noise.py): x + N(0, stddev²) per element; the identity at inference. The
/// noise is drawn from the <see cref="TrainingContext"/> (reproducible, independent of threads and shards).
/// </summary>
[SavedAs("GaussianNoise")]
public sealed class GaussianNoise : Layer
{
    private long _callsOutsideContext;

    /// <summary>Creates the layer.</summary>
    /// <param name="stddev">Standard deviation of the noise, in [0, 1] as Keras requires.</param>
    /// <param name="seed">Optional seed of this layer's noise; by default the model's seed and the layer's name.</param>
    /// <param name="name">Optional name.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stddev"/> is outside [0, 1].</exception>
    public GaussianNoise(double stddev, int? seed = null, string? name = null) : base(name)
    {
        if (!(stddev >= 0 && stddev <= 1))
            throw new ArgumentOutOfRangeException(nameof(stddev), stddev, $"GaussianNoise: stddev must be in [0, 1] (as Keras requires), got {stddev}.");
        Stddev = stddev;
        Seed = seed;
    }

    /// <summary>Standard deviation of the noise.</summary>
    public double Stddev { get; }

    /// <summary>The layer's own seed, or null to draw from the model's.</summary>
    public int? Seed { get; }

    /// <summary>
    /// True: the noise acts element by element, so a mask passes through unchanged (Keras sets <c>supports_masking</c>,
    /// keras/src/layers/regularization/gaussian_noise.py); masked steps get noise too, as in Keras.
    /// </summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (!training || Stddev == 0) return input;
        var key = TrainingContext.KeyFor(this, Seed, 0, ref _callsOutsideContext);
        return input + Tensor.GaussianNoise(input.Shape, Stddev, key, input.DType);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("stddev", Stddev).Set("seed", Seed);

    internal static GaussianNoise FromConfig(LayerConfig c) => new(c.GetDouble("stddev"), c.GetIntOrNull("seed"), c.Name);

    /// <summary>The noise disappears at inference: an ONNX Identity.</summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("Identity", $"{path}/identity", [input]);

    internal override bool ActsOnLastAxisOnly => true;
}
