using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Sums its inputs elementwise (Keras's <c>keras.layers.Add</c>): same shapes, or size-1 axes broadcast.</summary>
[SavedAs("Add")]
public sealed class Add(string? name = null) : Merge(name)
{
    /// <inheritdoc />
    protected override int?[] MergedShape(IReadOnlyList<int?[]> inputShapes) => ElementwiseShape(inputShapes);

    /// <inheritdoc />
    protected override Tensor Merged(ReadOnlySpan<Tensor> inputs)
    {
        var sum = inputs[0];
        for (int i = 1; i < inputs.Length; i++) sum = Tensor.Add(sum, inputs[i]);
        return sum;
    }

    internal static Add FromConfig(LayerConfig c) => new(c.Name);

    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        [OnnxChain(graph, "Add", inputs, path)];
}
