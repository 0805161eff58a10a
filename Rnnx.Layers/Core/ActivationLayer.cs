using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Applies an activation element-wise.</summary>
[SavedAs("ActivationLayer")]
public sealed class ActivationLayer(Activation activation, string? name = null) : Layer(name)
{
    /// <summary>The activation.</summary>
    public Activation Activation { get; } = activation ?? throw new ArgumentNullException(nameof(activation));

    /// <inheritdoc />
    protected override string DefaultName => "activation";

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape;

    /// <summary>Element-wise: the mask passes through unchanged (Keras: supports_masking = True).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => Activation.Apply(input);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("activation", Activation);

    internal static ActivationLayer FromConfig(LayerConfig c) => new(c.GetActivation("activation"), c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path) => graph.Activate(Activation, input, path);

    internal override bool ActsOnLastAxisOnly => true;
}
