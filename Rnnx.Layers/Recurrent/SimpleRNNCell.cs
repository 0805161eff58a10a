using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Fully connected recurrent cell: h_t = activation((x_t · kernel + bias) + h_{t-1} · recurrent_kernel).
/// Weights (Keras order): kernel (features, units) glorot-uniform, recurrent_kernel (units, units) orthogonal,
/// bias (units,) zeros. The output is the new state.
/// </summary>
[SavedAs("SimpleRNNCell")]
public sealed partial class SimpleRNNCell : RecurrentCell, IDropoutCell
{
    /// <summary>Creates the cell.</summary>
    /// <param name="units">State and output size.</param>
    /// <param name="activation">Activation (default tanh; <see cref="Activation.Linear"/> for none).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="name">Optional name.</param>
    /// <param name="dropout">Fraction of the inputs dropped while training, in [0, 1) (Keras <c>dropout</c>).</param>
    /// <param name="recurrentDropout">Fraction of the previous state dropped in the recurrent projection while training, in [0, 1) (Keras <c>recurrent_dropout</c>).</param>
    /// <param name="seed">Optional seed of the dropout masks (Keras <c>seed</c>); by default the model's seed and the layer's name.</param>
    public SimpleRNNCell(int units, Activation? activation = null, bool useBias = true, string? name = null,
        double dropout = 0, double recurrentDropout = 0, int? seed = null)
        : base([units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        UseBias = useBias;
        Dropout = TrainingContext.CheckRate(nameof(SimpleRNNCell), nameof(dropout), dropout);
        RecurrentDropout = TrainingContext.CheckRate(nameof(SimpleRNNCell), nameof(recurrentDropout), recurrentDropout);
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

    /// <summary>The activation.</summary>
    public Activation Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>(features, units).</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units, units).</summary>
    public Parameter RecurrentKernel { get; private set; } = null!;

    /// <summary>(units,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] is not int features)
            throw ShapeError($"a cell is built for (features,), got {ShapeText(inputShape)}.");
        Kernel = AddWeight("kernel", [features, Units], Initializer.GlorotUniform);
        RecurrentKernel = AddWeight("recurrent_kernel", [Units, Units], Initializer.Orthogonal);
        if (UseBias) Bias = AddWeight("bias", [Units], Initializer.Zeros);
    }

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates) => Step(input, states, newStates, default);

    /// <summary>Keras's SimpleRNNCell.call (keras/src/layers/rnn/simple_rnn.py): (x ⊙ m)·W + b + (h ⊙ m_r)·R.</summary>
    Tensor IDropoutCell.Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks) =>
        Step(input, states, newStates, masks);

    int IDropoutCell.Gates => 1;

    private Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks)
    {
        var z = Tensor.MatMul(masks.SharedInput(input), Kernel.Value);
        if (Bias is not null) z += Bias.Value;
        z += Tensor.MatMul(RecurrentDropoutMasks.Gate(states[0], masks.Recurrent, 0), RecurrentKernel.Value);
        var h = Activation.Apply(z);
        newStates[0] = h;
        return h;
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", Activation).Set("use_bias", UseBias)
        .Set("dropout", Dropout).Set("recurrent_dropout", RecurrentDropout).Set("seed", Seed);

    internal static SimpleRNNCell FromConfig(LayerConfig c) =>
        new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetBool("use_bias", true), c.Name,
            c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));

    internal override OnnxRecurrentOperator OnnxOperator => new("RNN", Units, [0], Kernel, RecurrentKernel, Bias, [Activation], []);
}
