using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// 1-D convolution over time, channels-last: input (batch, length, channels), kernel (kernelSize, channels, filters)
/// glorot-uniform, bias (filters,) zeros. Padding <c>"valid"</c>, <c>"same"</c> (TensorFlow's split) or
/// <c>"causal"</c> (left pad dilation·(kernelSize − 1)). Strides greater than 1 cannot be combined with dilation greater than 1 (as in Keras).
/// </summary>
[SavedAs("Conv1D")]
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
        if (Bias is not null && Activation.Fused is { } fused)   // one op: the layer keeps its output only
            return Tensor.Conv1DBiasActivation(input, Kernel.Value, Bias.Value, fused, Strides, DilationRate, Padding);
        var y = Tensor.Conv1D(input, Kernel.Value, Strides, DilationRate, Padding);
        return Bias is not null ? Activation.ApplyWithBias(y, Bias.Value) : Activation.Apply(y);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig()
        .Set("filters", Filters).Set("kernel_size", KernelSize).Set("strides", Strides).Set("padding", PaddingName(Padding))
        .Set("dilation_rate", DilationRate).Set("activation", Activation).Set("use_bias", UseBias);

    internal static Conv1D FromConfig(LayerConfig c) => new(c.GetInt("filters"), c.GetInt("kernel_size"), c.GetInt("strides", 1),
        c.GetString("padding", "valid")!, c.GetInt("dilation_rate", 1), c.GetActivation("activation", Activation.Linear), c.GetBool("use_bias", true),
        c.InputShape, c.Name);

    private static string PaddingName(Conv1DPadding p) => p switch
    {
        Conv1DPadding.Valid => "valid",
        Conv1DPadding.Same => "same",
        _ => "causal",
    };

    /// <summary>
    /// Conv on (batch, channels, length) between two Transposes, the kernel reordered to (filters, channels, width);
    /// causal padding as pads [left, 0], "same" as TensorFlow's split.
    /// </summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        int k = KernelSize, cin = Kernel.Shape[1], cout = Filters;
        var kernel = Kernel.Value.ToFloatArray();
        var w = new float[cout * cin * k];
        for (int o = 0; o < cout; o++)
            for (int ch = 0; ch < cin; ch++)
                for (int i = 0; i < k; i++)
                    w[(o * cin + ch) * k + i] = kernel[(i * cin + ch) * cout + o];
        var inputs = new List<string>
        {
            graph.Op("Transpose", $"{path}/to_ncw", [input], OnnxGraph.Attr.Ints("perm", 0, 2, 1)),
            graph.Constant($"{path}/kernel_oik", w, cout, cin, k),
        };
        if (Bias is not null) inputs.Add(graph.Weight(Bias, path));
        var attrs = new List<OnnxGraph.Attr>
        {
            OnnxGraph.Attr.Ints("kernel_shape", k),
            OnnxGraph.Attr.Ints("strides", Strides),
            OnnxGraph.Attr.Ints("dilations", DilationRate),
        };
        int span = DilationRate * (k - 1);
        switch (Padding)
        {
            case Conv1DPadding.Valid:
                attrs.Add(OnnxGraph.Attr.Ints("pads", 0, 0));
                break;
            case Conv1DPadding.Causal:
                attrs.Add(OnnxGraph.Attr.Ints("pads", span, 0));
                break;
            default:
                if (Strides == 1) attrs.Add(OnnxGraph.Attr.Ints("pads", span / 2, span - span / 2));   // TensorFlow's split: the extra column on the right
                else attrs.Add(OnnxGraph.Attr.String("auto_pad", "SAME_UPPER"));
                break;
        }
        var y = graph.Op("Conv", $"{path}/conv", [.. inputs], [.. attrs]);
        y = graph.Op("Transpose", $"{path}/to_nwc", [y], OnnxGraph.Attr.Ints("perm", 0, 2, 1));
        return graph.Activate(Activation, y, path);
    }
}
