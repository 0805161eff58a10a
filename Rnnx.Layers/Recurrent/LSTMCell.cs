using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// LSTM cell (Keras defaults): z = (x·W + h·R) + b split into gates i, f, c, o (that order);
/// i, f, o = sigmoid, g = tanh(z_c); c' = f·c + i·g; h' = o·tanh(c'). States [h, c].
/// Weights: kernel (features, 4·units) glorot-uniform, recurrent_kernel (units, 4·units) orthogonal,
/// bias (4·units,) zeros with the forget slice set to ones (unit_forget_bias).
/// </summary>
[SavedAs("LSTMCell")]
public partial class LSTMCell : RecurrentCell
{
    /// <summary>Creates the cell.</summary>
    public LSTMCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool unitForgetBias = true, string? name = null) : base([units, units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        RecurrentActivation = recurrentActivation ?? Activation.Sigmoid;
        UseBias = useBias;
        UnitForgetBias = unitForgetBias;
    }

    /// <summary>State size.</summary>
    public int Units { get; }

    /// <summary>Cell and output activation (tanh).</summary>
    public Activation Activation { get; }

    /// <summary>Gate activation (sigmoid).</summary>
    public Activation RecurrentActivation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Whether the forget-gate bias starts at one.</summary>
    public bool UnitForgetBias { get; }

    /// <summary>(features, 4·units), gates i, f, c, o.</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units, 4·units).</summary>
    public Parameter RecurrentKernel { get; private set; } = null!;

    /// <summary>(4·units,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] is not int features)
            throw ShapeError($"a cell is built for (features,), got {ShapeText(inputShape)}.");
        int u = Units;
        Kernel = AddWeight("kernel", [features, 4 * u], Initializer.GlorotUniform);
        RecurrentKernel = AddWeight("recurrent_kernel", [u, 4 * u], Initializer.Orthogonal);
        if (UseBias)
        {
            Bias = AddWeight("bias", [4 * u], Initializer.Zeros);
            if (UnitForgetBias)
            {
                if (DType == DType.Float32) Bias.AsSpan<float>().Slice(u, u).Fill(1f);
                else Bias.AsSpan<double>().Slice(u, u).Fill(1.0);
            }
        }
    }

    /// <summary>z = (x·W + h·R) + b, the four gates' pre-activations (batch, 4·units) in the order i, f, c, o.</summary>
    private protected Tensor PreActivations(Tensor input, Tensor hidden)
    {
        var z = Tensor.MatMul(input, Kernel.Value) + Tensor.MatMul(hidden, RecurrentKernel.Value);
        return Bias is not null ? z + Bias.Value : z;
    }

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        int u = Units;
        var z = PreActivations(input, states[0]);
        var i = RecurrentActivation.Apply(Tensor.Slice(z, 1, 0, u));
        var f = RecurrentActivation.Apply(Tensor.Slice(z, 1, u, 2 * u));
        var g = Activation.Apply(Tensor.Slice(z, 1, 2 * u, 3 * u));
        var o = RecurrentActivation.Apply(Tensor.Slice(z, 1, 3 * u, 4 * u));
        var c = f * states[1] + i * g;
        var h = o * Activation.Apply(c);
        newStates[0] = h;
        newStates[1] = c;
        return h;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", Activation)
        .Set("recurrent_activation", RecurrentActivation).Set("use_bias", UseBias).Set("unit_forget_bias", UnitForgetBias);

    internal static LSTMCell FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("unit_forget_bias", true), c.Name);

    /// <summary>ONNX orders the gates i, o, f, c (Keras: i, f, c, o).</summary>
    internal override OnnxRecurrentOperator OnnxOperator =>
        new("LSTM", Units, [0, 3, 1, 2], Kernel, RecurrentKernel, Bias, [RecurrentActivation, Activation, Activation], []);
}
