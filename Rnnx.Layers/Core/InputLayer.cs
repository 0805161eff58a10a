using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Declares the model's input shape (without batch); <c>null</c> marks an unknown length, e.g. <c>[null, 1]</c>.</summary>
[SavedAs("InputLayer")]
public sealed class InputLayer(int?[] inputShape, string? name = null, int? batchSize = null) : Layer(name, inputShape ?? throw new ArgumentNullException(nameof(inputShape)))
{
    /// <summary>The fixed batch size (Keras's <c>batch_size</c>), or null for any.</summary>
    public int? BatchSize { get; } = batchSize is <= 0
        ? throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{name ?? "input_layer"}: the batch size must be positive, got {batchSize}.")
        : batchSize;

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input;

    /// <summary>Empty, or the batch size when one is fixed.</summary>
    public override LayerConfig GetConfig() => BatchSize is int b ? new LayerConfig().Set("batch_size", b) : new LayerConfig();

    internal static InputLayer FromConfig(LayerConfig c) =>
        new(c.InputShape ?? throw new ModelFormatException($"{c.Context}: an InputLayer needs input_shape"), c.Name,
            c.Contains("batch_size") ? c.GetInt("batch_size") : null);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) => input;

    internal override bool ActsOnLastAxisOnly => true;
}
