using Rnnx.Initializers;

namespace Rnnx.Layers;

/// <summary>
/// 1-D convolution over time, channels-last: input (batch, length, channels), kernel (kernelSize, channels, filters)
/// glorot-uniform, bias (filters,) zeros. Padding <c>"valid"</c>, <c>"same"</c> (TensorFlow's split) or
/// <c>"causal"</c> (left pad dilation·(kernelSize − 1)). Strides greater than 1 cannot be combined with dilation greater than 1 (as in Keras).
/// </summary>
public sealed class Conv1D : Layer
{
    /// <summary>Creates the layer.</summary>
    public Conv1D(int filters, int kernelSize, int strides = 1, string padding = "valid", int dilationRate = 1,
        Activation? activation = null, bool useBias = true, int?[]? inputShape = null, string? name = null,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null) : base(name, inputShape)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(strides);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dilationRate);
        if (strides > 1 && dilationRate > 1)
            throw new ArgumentException($"Conv1D: strides {strides} > 1 cannot be combined with dilation_rate {dilationRate} > 1 (as in Keras).");
        Padding = padding switch
        {
            "valid" => Conv1DPadding.Valid,
            "same" => Conv1DPadding.Same,
            "causal" => Conv1DPadding.Causal,
            _ => throw new ArgumentException($"Conv1D: padding must be \"valid\", \"same\" or \"causal\", got \"{padding}\".", nameof(padding)),
        };
        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides;
        DilationRate = dilationRate;
        Activation = activation ?? Activation.Linear;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? Initializer.GlorotUniform;
        BiasInitializer = biasInitializer ?? Initializer.Zeros;
    }

    /// <summary>Output channels.</summary>
    public int Filters { get; }

    /// <summary>Kernel width in time steps.</summary>
    public int KernelSize { get; }

    /// <summary>Stride.</summary>
    public int Strides { get; }

    /// <summary>Dilation rate.</summary>
    public int DilationRate { get; }

    /// <summary>Padding mode.</summary>
    public Conv1DPadding Padding { get; }

    /// <summary>The activation.</summary>
    public Activation Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>(kernelSize, channels, filters).</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(filters,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 2 || inputShape[1] is not int channels)
            throw ShapeError($"expects input (batch, length, channels) with known channels, got (batch, {string.Join(", ", inputShape.Select(d => d?.ToString() ?? "None"))}).");
        Kernel = AddWeight("kernel", [KernelSize, channels, Filters], KernelInitializer);
        if (UseBias) Bias = AddWeight("bias", [Filters], BiasInitializer);
    }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length != 2) throw ShapeError($"expects input (batch, length, channels), got rank {inputShape.Length + 1}.");
        int? len = inputShape[0] is int l ? Tensor.Conv1DOutputLength(l, KernelSize, Strides, DilationRate, Padding) : null;
        return [len, Filters];
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3 || input.Shape[2] != Kernel.Shape[1])
            throw ShapeError($"expected input (batch, length, {Kernel.Shape[1]}), got {input.Shape}.");
        var y = Tensor.Conv1D(input, Kernel.Value, Strides, DilationRate, Padding);
        return Bias is not null ? Activation.ApplyWithBias(y, Bias.Value) : Activation.Apply(y);
    }
}
