using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Flattens every axis after the batch axis: (batch, d1, d2, ...) → (batch, d1·d2·...), row-major.</summary>
[SavedAs("Flatten")]
public sealed class Flatten(int?[]? inputShape = null, string? name = null) : Layer(name, inputShape)
{
    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        int? size = 1;
        foreach (var d in inputShape) size = size is int s && d is int v ? s * v : null;
        return [size];
    }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Any(d => d is null))
            throw ShapeError($"cannot flatten an input with an unknown dimension {ShapeText(inputShape)}; declare the full input shape (e.g. [50, 1]).");
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var b = BuiltInputShape!;
        int expected = b.Aggregate(1, (a, d) => a * d!.Value);
        if (input.Size / input.Shape[0] != expected)
            throw ShapeError($"expected input (batch, {string.Join(", ", b)}), got {input.Shape}.");
        return Tensor.Reshape(input, input.Shape[0], input.Size / input.Shape[0]);
    }

    internal static Flatten FromConfig(LayerConfig c) => new(c.InputShape, c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("Flatten", $"{path}/flatten", [input], OnnxGraph.Attr.Int("axis", 1));
}
