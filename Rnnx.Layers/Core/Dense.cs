using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Densely connected layer on the last axis: y = activation(x · kernel + bias), kernel (in, units) glorot-uniform,
/// bias (units,) zeros. On input of rank &gt; 2 it acts on the last axis at every leading index (like Keras).
/// </summary>
[SavedAs("Dense")]
public sealed class Dense : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">Output size.</param>
    /// <param name="activation">Activation (default linear).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="inputShape">Optional input shape without batch.</param>
    /// <param name="name">Optional name.</param>
    /// <param name="kernelInitializer">Kernel initializer (default glorot uniform).</param>
    /// <param name="biasInitializer">Bias initializer (default zeros).</param>
    public Dense(int units, Activation? activation = null, bool useBias = true, int?[]? inputShape = null, string? name = null,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null) : base(name, inputShape)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(units);
        Units = units;
        Activation = activation ?? Activation.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? Initializer.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializer.Zeros;
    }

    /// <summary>Output size.</summary>
    public int Units { get; }

    /// <summary>The activation.</summary>
    public Activation Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>(in, units).</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units,), or null without bias.</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length == 0 || inputShape[^1] is not int features)
            throw ShapeError($"the last input dimension must be known, got {ShapeText(inputShape)}.");
        Kernel = AddWeight("kernel", [features, Units], KernelInitializer);
        if (UseBias) Bias = AddWeight("bias", [Units], BiasInitializer);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length == 0) throw ShapeError("input needs at least one axis besides the batch.");
        var o = (int?[])inputShape.Clone();
        o[^1] = Units;
        return o;
    }

    /// <summary>Dense acts on the last axis alone, so the mask passes through unchanged (Keras: supports_masking = True).</summary>
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank < 2 || input.Shape.Last != Kernel.Shape[0])
            throw ShapeError($"expected input (batch, ..., {Kernel.Shape[0]}), got {input.Shape}.");
        var y = Tensor.MatMul(input, Kernel.Value);
        return Bias is not null ? Activation.ApplyWithBias(y, Bias.Value) : Activation.Apply(y);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", Activation).Set("use_bias", UseBias);

    internal static Dense FromConfig(LayerConfig c) =>
        new(c.GetInt("units"), c.GetActivation("activation", Activation.Linear), c.GetBool("use_bias", true), c.InputShape, c.Name);

    /// <summary>MatMul (which broadcasts over leading axes), Add, then the activation.</summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        var y = graph.Op("MatMul", $"{path}/matmul", [input, graph.Weight(Kernel, path)]);
        if (Bias is not null) y = graph.Op("Add", $"{path}/bias_add", [y, graph.Weight(Bias, path)]);
        return graph.Activate(Activation, y, path);
    }

    internal override bool ActsOnLastAxisOnly => true;
}
