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
public sealed partial class LSTMCell : RecurrentCell, IDropoutCell
{
    /// <summary>Creates the cell.</summary>
    /// <param name="units">State size.</param>
    /// <param name="activation">Candidate activation (default tanh).</param>
    /// <param name="recurrentActivation">Gate activation (default sigmoid).</param>
    /// <param name="useBias">Whether biases are added.</param>
    /// <param name="unitForgetBias">Whether the forget-gate bias starts at one.</param>
    /// <param name="name">Optional name.</param>
    /// <param name="dropout">Fraction of the inputs dropped while training, in [0, 1) (Keras <c>dropout</c>).</param>
    /// <param name="recurrentDropout">Fraction of the previous state dropped in the recurrent projection while training, in [0, 1) (Keras <c>recurrent_dropout</c>).</param>
    /// <param name="seed">Optional seed of the dropout masks (Keras <c>seed</c>); by default the model's seed and the layer's name.</param>
    public LSTMCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool unitForgetBias = true, string? name = null, double dropout = 0, double recurrentDropout = 0, int? seed = null)
        : base([units, units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        RecurrentActivation = recurrentActivation ?? Activation.Sigmoid;
        UseBias = useBias;
        UnitForgetBias = unitForgetBias;
        Dropout = TrainingContext.CheckRate(nameof(LSTMCell), nameof(dropout), dropout);
        RecurrentDropout = TrainingContext.CheckRate(nameof(LSTMCell), nameof(recurrentDropout), recurrentDropout);
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

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates) => Step(input, states, newStates, default);

    Tensor IDropoutCell.Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks) =>
        Step(input, states, newStates, masks);

    int IDropoutCell.Gates => 4;

    /// <summary>
    /// Keras's LSTMCell.call (keras/src/layers/rnn/lstm.py): with recurrent masks (Keras's implementation 1) each gate g
    /// projects (x ⊙ m_g)·W_g + (h ⊙ m_r,g)·R_g; otherwise (x ⊙ m)·W + h·R at once.
    /// </summary>
    private Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks)
    {
        int u = Units;
        var z = masks.Recurrent.IsValid
            ? PerGateProjection(input, states[0], masks, 4, u, Kernel.Value, RecurrentKernel.Value)
            : Tensor.MatMul(masks.SharedInput(input), Kernel.Value) + Tensor.MatMul(states[0], RecurrentKernel.Value);
        if (Bias is not null) z += Bias.Value;
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

    /// <summary>[(x ⊙ m_g)·W_g + (h ⊙ m_r,g)·R_g] for the 4 gates, concatenated: the per-gate projections of Keras's implementation 1.</summary>
    internal static Tensor PerGateProjection(Tensor input, Tensor h, in RecurrentDropoutMasks masks, int gates, int u, Tensor kernel, Tensor recurrentKernel) =>
        gates == 4
            ? Tensor.Concat(1, [GateProjection(input, h, masks, 0, u, kernel, recurrentKernel), GateProjection(input, h, masks, 1, u, kernel, recurrentKernel),
                GateProjection(input, h, masks, 2, u, kernel, recurrentKernel), GateProjection(input, h, masks, 3, u, kernel, recurrentKernel)])
            : throw new ArgumentOutOfRangeException(nameof(gates));

    private static Tensor GateProjection(Tensor input, Tensor h, in RecurrentDropoutMasks masks, int g, int u, Tensor kernel, Tensor recurrentKernel) =>
        Tensor.MatMul(RecurrentDropoutMasks.Gate(input, masks.PerGateInput ? masks.Input : default, g), Tensor.Slice(kernel, 1, g * u, (g + 1) * u))
        + Tensor.MatMul(RecurrentDropoutMasks.Gate(h, masks.Recurrent, g), Tensor.Slice(recurrentKernel, 1, g * u, (g + 1) * u));

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", Activation)
        .Set("recurrent_activation", RecurrentActivation).Set("use_bias", UseBias).Set("unit_forget_bias", UnitForgetBias)
        .Set("dropout", Dropout).Set("recurrent_dropout", RecurrentDropout).Set("seed", Seed);

    internal static LSTMCell FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("unit_forget_bias", true), c.Name,
        c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));

    /// <summary>ONNX orders the gates i, o, f, c (Keras: i, f, c, o).</summary>
    internal override OnnxRecurrentOperator OnnxOperator =>
        new("LSTM", Units, [0, 3, 1, 2], Kernel, RecurrentKernel, Bias, [RecurrentActivation, Activation, Activation], []);
}
