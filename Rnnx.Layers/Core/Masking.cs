using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Keras <c>Masking(mask_value=0.0)</c> (keras/src/layers/core/masking.py): a step whose features all equal
/// <see cref="MaskValue"/> is masked. The output is the input with masked steps set to 0; the mask (batch, time)
/// goes to the following layers, which skip those steps (recurrent layers), leave them out of averages (pooling,
/// losses, metrics) or pass the mask on. An incoming mask is replaced, as in Keras.
/// </summary>
[SavedAs("Masking")]
public sealed class Masking(double maskValue = 0.0, int?[]? inputShape = null, string? name = null) : Layer(name, inputShape)
{
    /// <summary>The value that marks padding (Keras <c>mask_value</c>).</summary>
    public double MaskValue { get; } = maskValue;

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape.Length == 2
        ? inputShape
        : throw ShapeError($"expects input (batch, time, features), got rank {inputShape.Length + 1}.");

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3) throw ShapeError($"expects input (batch, time, features), got {input.Shape}.");
        var mask = Tensor.StepMask(input, MaskValue);
        return input * Tensor.Reshape(mask, input.Shape[0], input.Shape[1], 1);
    }

    /// <inheritdoc />
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        if (input.Rank != 3) throw ShapeError($"expects input (batch, time, features), got {input.Shape}.");
        return Tensor.StepMask(input, MaskValue);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("mask_value", MaskValue);

    internal static Masking FromConfig(LayerConfig c) => new(c.GetDouble("mask_value", 0.0), c.InputShape, c.Name);

    /// <summary>Output = x ⊙ any(x ≠ maskValue, last axis).</summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        var keep = ExportMask(graph, input, path, keepDims: true);
        return graph.Op("Mul", $"{path}/masked", [input, keep]);
    }

    /// <summary>The (batch, time) mask for the following layers.</summary>
    internal override string? ExportOnnxMask(OnnxGraph graph, string input, string path, string? mask) => ExportMask(graph, input, path, keepDims: false);

    /// <summary>The (batch, time) (or (batch, time, 1)) float mask: any(x ≠ maskValue) over the features.</summary>
    private string ExportMask(OnnxGraph graph, string input, string path, bool keepDims)
    {
        var value = graph.Constant($"{path}/mask_value", [(float)MaskValue]);
        var equal = graph.Op("Equal", $"{path}/equal", [input, value]);
        var differs = graph.Op("Not", $"{path}/differs", [equal]);
        var asFloat = graph.Op("Cast", $"{path}/differs_float", [differs], OnnxGraph.Attr.Int("to", OnnxGraph.Float));
        return graph.Op("ReduceMax", $"{path}/{(keepDims ? "keep" : "mask")}", [asFloat], OnnxGraph.Attr.Ints("axes", -1), OnnxGraph.Attr.Int("keepdims", keepDims ? 1 : 0));
    }
}
