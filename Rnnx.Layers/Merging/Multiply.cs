using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Multiplies its inputs elementwise (Keras's <c>keras.layers.Multiply</c>): same shapes, or size-1 axes broadcast.</summary>
[SavedAs("Multiply")]
public sealed class Multiply(string? name = null) : Merge(name)
{
    /// <inheritdoc />
    protected override int?[] MergedShape(IReadOnlyList<int?[]> inputShapes) => ElementwiseShape(inputShapes);

    /// <inheritdoc />
    protected override Tensor Merged(ReadOnlySpan<Tensor> inputs)
    {
        var product = inputs[0];
        for (int i = 1; i < inputs.Length; i++) product = Tensor.Multiply(product, inputs[i]);
        return product;
    }

    internal static Multiply FromConfig(LayerConfig c) => new(c.Name);

    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        [OnnxChain(graph, "Mul", inputs, path)];
}
