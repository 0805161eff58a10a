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
public sealed partial class GRUCell : RecurrentCell, IDropoutCell
{
    /// <summary>Creates the cell.</summary>
    /// <param name="units">State size.</param>
    /// <param name="activation">Candidate activation (default tanh).</param>
    /// <param name="recurrentActivation">Gate activation (default sigmoid).</param>
    /// <param name="useBias">Whether biases are added.</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent matmul (Keras default) or before it.</param>
    /// <param name="name">Optional name.</param>
    /// <param name="dropout">Fraction of the inputs dropped while training, in [0, 1) (Keras <c>dropout</c>).</param>
    /// <param name="recurrentDropout">Fraction of the previous state dropped in the recurrent projection while training, in [0, 1) (Keras <c>recurrent_dropout</c>).</param>
    /// <param name="seed">Optional seed of the dropout masks (Keras <c>seed</c>); by default the model's seed and the layer's name.</param>
    public GRUCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool resetAfter = true, string? name = null, double dropout = 0, double recurrentDropout = 0, int? seed = null) : base([units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        RecurrentActivation = recurrentActivation ?? Activation.Sigmoid;
        UseBias = useBias;
        ResetAfter = resetAfter;
        Dropout = TrainingContext.CheckRate(nameof(GRUCell), nameof(dropout), dropout);
        RecurrentDropout = TrainingContext.CheckRate(nameof(GRUCell), nameof(recurrentDropout), recurrentDropout);
        Seed = seed;
    }

    /// <summary>Fraction of the inputs dropped while training (one mask per sequence, reused at every step).</summary>
    public double Dropout { get; }

    /// <summary>Fraction of h_{t−1} dropped in the recurrent projection while training (one mask per sequence).</summary>
    public double RecurrentDropout { get; }

    /// <summary>The dropout masks' own seed, or null.</summary>
    public int? Seed { get; }

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
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates) => Step(input, states, newStates, default);

    Tensor IDropoutCell.Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks) =>
        Step(input, states, newStates, masks);

    int IDropoutCell.Gates => 3;

    /// <summary>
    /// Keras's GRUCell.call (keras/src/layers/rnn/gru.py): with recurrent masks (Keras's implementation 1) gate g sees
    /// x ⊙ m_g and h ⊙ m_r,g in its projections, while the update z ⊙ h + (1 − z) ⊙ ĥ uses h unmasked.
    /// </summary>
    private Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks)
    {
        int u = Units;
        var h = states[0];
        var xin = masks.PerGateInput ? masks.Input : default;
        var xw = masks.Recurrent.IsValid
            ? Tensor.Concat(1, [Tensor.MatMul(RecurrentDropoutMasks.Gate(input, xin, 0), Tensor.Slice(Kernel.Value, 1, 0, u)),
                Tensor.MatMul(RecurrentDropoutMasks.Gate(input, xin, 1), Tensor.Slice(Kernel.Value, 1, u, 2 * u)),
                Tensor.MatMul(RecurrentDropoutMasks.Gate(input, xin, 2), Tensor.Slice(Kernel.Value, 1, 2 * u, 3 * u))])
            : Tensor.MatMul(masks.SharedInput(input), Kernel.Value);
        Tensor hz = RecurrentDropoutMasks.Gate(h, masks.Recurrent, 0), hrr = RecurrentDropoutMasks.Gate(h, masks.Recurrent, 1), hc = RecurrentDropoutMasks.Gate(h, masks.Recurrent, 2);
        Tensor z, r, hh;
        if (ResetAfter)
        {
            var hr = masks.Recurrent.IsValid
                ? Tensor.Concat(1, [Tensor.MatMul(hz, Tensor.Slice(RecurrentKernel.Value, 1, 0, u)), Tensor.MatMul(hrr, Tensor.Slice(RecurrentKernel.Value, 1, u, 2 * u)),
                    Tensor.MatMul(hc, Tensor.Slice(RecurrentKernel.Value, 1, 2 * u, 3 * u))])
                : Tensor.MatMul(h, RecurrentKernel.Value);
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
            z = RecurrentActivation.Apply(Tensor.Slice(xw, 1, 0, u) + Tensor.MatMul(hz, Tensor.Slice(rk, 1, 0, u)));
            r = RecurrentActivation.Apply(Tensor.Slice(xw, 1, u, 2 * u) + Tensor.MatMul(hrr, Tensor.Slice(rk, 1, u, 2 * u)));
            hh = Activation.Apply(Tensor.Slice(xw, 1, 2 * u, 3 * u) + Tensor.MatMul(r * hc, Tensor.Slice(rk, 1, 2 * u, 3 * u)));
        }
        var hNew = z * h + (1.0 - z) * hh;
        newStates[0] = hNew;
        return hNew;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", Activation)
        .Set("recurrent_activation", RecurrentActivation).Set("use_bias", UseBias).Set("reset_after", ResetAfter)
        .Set("dropout", Dropout).Set("recurrent_dropout", RecurrentDropout).Set("seed", Seed);

    internal static GRUCell FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("reset_after", true), c.Name,
        c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));

    /// <summary>Same gate order z, r, h as Keras; reset_after is ONNX's <c>linear_before_reset</c>.</summary>
    internal override OnnxRecurrentOperator OnnxOperator => new("GRU", Units, [0, 1, 2], Kernel, RecurrentKernel, Bias,
        [RecurrentActivation, Activation], [OnnxGraph.Attr.Int("linear_before_reset", ResetAfter ? 1 : 0)]);
}
