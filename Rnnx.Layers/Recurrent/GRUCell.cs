using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// GRU cell (Keras defaults, reset_after = true): gates z (update), r (reset), h (candidate) in that order.
/// reset_after: x_* = split(x·W + b_x), m_* = split(h·R + b_h); z = σ(x_z + m_z); r = σ(x_r + m_r);
/// ĥ = tanh(x_h + r·m_h); h' = z·h + (1 − z)·ĥ. Bias (2, 3·units) (input row, recurrent row).
/// reset_after = false: bias (3·units,); ĥ = tanh(x_h + (r·h)·R_h).
/// </summary>
[SavedAs("GRUCell")]
public sealed partial class GRUCell : RecurrentCell
{
    /// <summary>Creates the cell.</summary>
    public GRUCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool resetAfter = true, string? name = null) : base([units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        RecurrentActivation = recurrentActivation ?? Activation.Sigmoid;
        UseBias = useBias;
        ResetAfter = resetAfter;
    }

    /// <summary>State size.</summary>
    public int Units { get; }

    /// <summary>Candidate activation (tanh).</summary>
    public Activation Activation { get; }

    /// <summary>Gate activation (sigmoid).</summary>
    public Activation RecurrentActivation { get; }

    /// <summary>Whether biases are added.</summary>
    public bool UseBias { get; }

    /// <summary>Apply the reset gate after the recurrent matmul (Keras/CuDNN default) or before it.</summary>
    public bool ResetAfter { get; }

    /// <summary>(features, 3·units), gates z, r, h.</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units, 3·units).</summary>
    public Parameter RecurrentKernel { get; private set; } = null!;

    /// <summary>(2, 3·units) with reset_after, else (3·units,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] is not int features)
            throw ShapeError($"a cell is built for (features,), got {ShapeText(inputShape)}.");
        int u = Units;
        Kernel = AddWeight("kernel", [features, 3 * u], Initializer.GlorotUniform);
        RecurrentKernel = AddWeight("recurrent_kernel", [u, 3 * u], Initializer.Orthogonal);
        if (UseBias) Bias = AddWeight("bias", ResetAfter ? [2, 3 * u] : [3 * u], Initializer.Zeros);
    }

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        int u = Units;
        var h = states[0];
        var xw = Tensor.MatMul(input, Kernel.Value);
        Tensor z, r, hh;
        if (ResetAfter)
        {
            var hr = Tensor.MatMul(h, RecurrentKernel.Value);
            if (Bias is not null)
            {
                xw += Tensor.Select(Bias.Value, 0, 0);
                hr += Tensor.Select(Bias.Value, 0, 1);
            }
            z = RecurrentActivation.Apply(Tensor.Slice(xw, 1, 0, u) + Tensor.Slice(hr, 1, 0, u));
            r = RecurrentActivation.Apply(Tensor.Slice(xw, 1, u, 2 * u) + Tensor.Slice(hr, 1, u, 2 * u));
            hh = Activation.Apply(Tensor.Slice(xw, 1, 2 * u, 3 * u) + r * Tensor.Slice(hr, 1, 2 * u, 3 * u));
        }
        else
        {
            if (Bias is not null) xw += Bias.Value;
            var rk = RecurrentKernel.Value;
            z = RecurrentActivation.Apply(Tensor.Slice(xw, 1, 0, u) + Tensor.MatMul(h, Tensor.Slice(rk, 1, 0, u)));
            r = RecurrentActivation.Apply(Tensor.Slice(xw, 1, u, 2 * u) + Tensor.MatMul(h, Tensor.Slice(rk, 1, u, 2 * u)));
            hh = Activation.Apply(Tensor.Slice(xw, 1, 2 * u, 3 * u) + Tensor.MatMul(r * h, Tensor.Slice(rk, 1, 2 * u, 3 * u)));
        }
        var hNew = z * h + (1.0 - z) * hh;
        newStates[0] = hNew;
        return hNew;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", Activation)
        .Set("recurrent_activation", RecurrentActivation).Set("use_bias", UseBias).Set("reset_after", ResetAfter);

    internal static GRUCell FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("reset_after", true), c.Name);

    /// <summary>Same gate order z, r, h as Keras; reset_after is ONNX's <c>linear_before_reset</c>.</summary>
    internal override OnnxRecurrentOperator OnnxOperator => new("GRU", Units, [0, 1, 2], Kernel, RecurrentKernel, Bias,
        [RecurrentActivation, Activation], [OnnxGraph.Attr.Int("linear_before_reset", ResetAfter ? 1 : 0)]);
}
