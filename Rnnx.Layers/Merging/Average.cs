using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// The elementwise mean of its inputs (Keras's <c>keras.layers.Average</c>: the left-to-right sum divided by the
/// number of inputs): same shapes, or size-1 axes broadcast.
/// </summary>
[SavedAs("Average")]
public sealed class Average(string? name = null) : Merge(name)
{
    /// <inheritdoc />
    protected override int?[] MergedShape(IReadOnlyList<int?[]> inputShapes) => ElementwiseShape(inputShapes);

    /// <inheritdoc />
    protected override Tensor Merged(ReadOnlySpan<Tensor> inputs)
    {
        var sum = inputs[0];
        for (int i = 1; i < inputs.Length; i++) sum = Tensor.Add(sum, inputs[i]);
        return sum / inputs.Length;
    }

    internal static Average FromConfig(LayerConfig c) => new(c.Name);

    internal override string[] ExportOnnxMany(OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        [graph.Op("Div", $"{path}/mean", [OnnxChain(graph, "Add", inputs, path), graph.Constant($"{path}/count", [inputs.Count])])];
}
