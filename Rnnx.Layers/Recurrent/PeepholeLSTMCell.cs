using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// LSTM cell with diagonal peephole connections (tf.keras.experimental.PeepholeLSTMCell, tensorflow/python/keras/layers/recurrent.py,
/// after Gers et al. 2002 and Sak et al. 2014): the input and forget gates also see the previous cell state and the output
/// gate the new one: i = σ(z_i + p_i ⊙ c_{t−1}), f = σ(z_f + p_f ⊙ c_{t−1}), c_t = f ⊙ c_{t−1} + i ⊙ tanh(z_c),
/// o = σ(z_o + p_o ⊙ c_t), h_t = o ⊙ tanh(c_t), with z = (x·W + h·R) + b as <see cref="LSTMCell"/>. States [h, c].
/// Weights in Keras's order: kernel, recurrent_kernel, bias (as LSTMCell), then input_gate_peephole_weights,
/// forget_gate_peephole_weights, output_gate_peephole_weights, each (units,), glorot-uniform (Keras's kernel initializer).
/// </summary>
/// <remarks>
/// The gate activation defaults to sigmoid, as Rnnx's LSTMCell and tfa.rnn.PeepholeLSTMCell (TensorFlow Addons);
/// tf.keras.experimental.PeepholeLSTMCell inherits hard_sigmoid from the v1 LSTMCell, which Rnnx does not provide.
/// With tanh and sigmoid the layer runs the fused LSTM sequence op with its peephole weights.
/// </remarks>
[SavedAs("PeepholeLSTMCell")]
public sealed class PeepholeLSTMCell : LSTMCell
{
    /// <summary>Creates the cell (arguments as <see cref="LSTMCell"/>'s, dropout included).</summary>
    public PeepholeLSTMCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool unitForgetBias = true, string? name = null, double dropout = 0, double recurrentDropout = 0, int? seed = null)
        : base(units, activation, recurrentActivation, useBias, unitForgetBias, name, dropout, recurrentDropout, seed)
    {
    }

    /// <summary>p_i (units,), the input gate's weight on c_{t−1}.</summary>
    public Parameter InputGatePeepholeWeights { get; private set; } = null!;

    /// <summary>p_f (units,), the forget gate's weight on c_{t−1}.</summary>
    public Parameter ForgetGatePeepholeWeights { get; private set; } = null!;

    /// <summary>p_o (units,), the output gate's weight on c_t.</summary>
    public Parameter OutputGatePeepholeWeights { get; private set; } = null!;

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        base.BuildCore(inputShape);
        InputGatePeepholeWeights = AddWeight("input_gate_peephole_weights", [Units], Initializer.GlorotUniform);
        ForgetGatePeepholeWeights = AddWeight("forget_gate_peephole_weights", [Units], Initializer.GlorotUniform);
        OutputGatePeepholeWeights = AddWeight("output_gate_peephole_weights", [Units], Initializer.GlorotUniform);
    }

    /// <summary>The peephole step (dropout masks, if any, as <see cref="LSTMCell"/>).</summary>
    private protected override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks)
    {
        int u = Units;
        var z = PreActivations(input, states[0], masks);
        var cPrev = states[1];
        var i = RecurrentActivation.Apply(Tensor.Slice(z, 1, 0, u) + InputGatePeepholeWeights.Value * cPrev);
        var f = RecurrentActivation.Apply(Tensor.Slice(z, 1, u, 2 * u) + ForgetGatePeepholeWeights.Value * cPrev);
        var c = f * cPrev + i * Activation.Apply(Tensor.Slice(z, 1, 2 * u, 3 * u));
        var o = RecurrentActivation.Apply(Tensor.Slice(z, 1, 3 * u, 4 * u) + OutputGatePeepholeWeights.Value * c);
        var h = o * Activation.Apply(c);
        newStates[0] = h;
        newStates[1] = c;
        return h;
    }

    private protected override Tensor? FusedPeepholes() =>
        Tensor.Concat(0, InputGatePeepholeWeights.Value, ForgetGatePeepholeWeights.Value, OutputGatePeepholeWeights.Value);

    internal static new PeepholeLSTMCell FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("unit_forget_bias", true), c.Name,
        c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));

    /// <summary>The ONNX LSTM operator with its peephole input P, which ONNX orders i, o, f.</summary>
    internal override OnnxRecurrentOperator OnnxOperator =>
        base.OnnxOperator with { Peepholes = [InputGatePeepholeWeights, OutputGatePeepholeWeights, ForgetGatePeepholeWeights] };
}
