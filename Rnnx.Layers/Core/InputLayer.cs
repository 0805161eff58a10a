using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Declares the model's input shape (without batch); <c>null</c> marks an unknown length, e.g. <c>[null, 1]</c>.</summary>
[SavedAs("InputLayer")]
public sealed class InputLayer(int?[] inputShape, string? name = null) : Layer(name, inputShape ?? throw new ArgumentNullException(nameof(inputShape)))
{
    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

    /// <summary>The identity: a mask passes through unchanged.</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input;

    internal static InputLayer FromConfig(LayerConfig c) =>
        new(c.InputShape ?? throw new ModelFormatException($"{c.Context}: an InputLayer needs input_shape"), c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) => input;

    internal override bool ActsOnLastAxisOnly => true;
}
