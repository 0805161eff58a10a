using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Layer normalization over the last axis (Keras defaults: epsilon 1e-3, gamma ones, beta zeros):
/// y = gamma · (x − mean) / sqrt(var + epsilon) + beta, with a fused forward and backward.
/// </summary>
/// <remarks>Ba, Kiros, Hinton, "Layer Normalization", 2016, https://arxiv.org/abs/1607.06450.</remarks>
[SavedAs("LayerNormalization")]
public sealed class LayerNormalization(double epsilon = 1e-3, int?[]? inputShape = null, string? name = null) : Layer(name, inputShape)
{
    /// <summary>Added to the variance.</summary>
    public double Epsilon { get; } = epsilon > 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), "epsilon must be positive.");

    /// <summary>Scale (features,).</summary>
    public Parameter Gamma { get; private set; } = null!;

    /// <summary>Offset (features,).</summary>
    public Parameter Beta { get; private set; } = null!;

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length == 0 || inputShape[^1] is not int n)
            throw ShapeError($"the last input dimension must be known, got {ShapeText(inputShape)}.");
        Gamma = AddWeight("gamma", [n], Initializer.Ones);
        Beta = AddWeight("beta", [n], Initializer.Zeros);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

    /// <summary>Normalizes each step alone: the mask passes through unchanged (Keras 3: supports_masking = True).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Shape.Last != Gamma.Shape[0])
            throw ShapeError($"expected last dimension {Gamma.Shape[0]}, got input {input.Shape}.");
        return Tensor.LayerNorm(input, Gamma.Value, Beta.Value, Epsilon);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("epsilon", Epsilon);

    internal static LayerNormalization FromConfig(LayerConfig c) => new(c.GetDouble("epsilon", 1e-3), c.InputShape, c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) =>
        graph.Op("LayerNormalization", $"{path}/layer_norm", [input, graph.Weight(Gamma, path), graph.Weight(Beta, path)],
            OnnxGraph.Attr.Int("axis", -1), OnnxGraph.Attr.Float("epsilon", (float)Epsilon));

    internal override bool ActsOnLastAxisOnly => true;
}
