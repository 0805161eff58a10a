using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>Fully connected RNN layer: <see cref="RNN"/> over a <see cref="SimpleRNNCell"/>.</summary>
[SavedAs("SimpleRNN")]
public sealed class SimpleRNN(int units, Activation? activation = null, bool useBias = true, bool returnSequences = false,
    bool returnState = false, bool goBackwards = false, int?[]? inputShape = null, string? name = null,
    double dropout = 0, double recurrentDropout = 0, int? seed = null)
    : RNN(new SimpleRNNCell(units, activation, useBias, "simple_rnn_cell", CheckRate(nameof(SimpleRNN), name, nameof(dropout), dropout),
        CheckRate(nameof(SimpleRNN), name, nameof(recurrentDropout), recurrentDropout), seed), returnSequences, returnState, goBackwards, inputShape, name)
{
    /// <summary>Units.</summary>
    public int Units => units;

    /// <inheritdoc />
    protected internal override bool FlattenChildNames => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => WithRecurrentFlags(Cell.GetConfig());

    internal static new SimpleRNN FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh), c.GetBool("use_bias", true),
        c.GetBool("return_sequences", false), c.GetBool("return_state", false), c.GetBool("go_backwards", false), c.InputShape, c.Name,
        c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));
}

/// <summary>Long short-term memory layer: <see cref="RNN"/> over an <see cref="LSTMCell"/>.</summary>
[SavedAs("LSTM")]
public sealed class LSTM(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
    bool unitForgetBias = true, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
    int?[]? inputShape = null, string? name = null, double dropout = 0, double recurrentDropout = 0, int? seed = null)
    : RNN(new LSTMCell(units, activation, recurrentActivation, useBias, unitForgetBias, "lstm_cell", CheckRate(nameof(LSTM), name, nameof(dropout), dropout),
        CheckRate(nameof(LSTM), name, nameof(recurrentDropout), recurrentDropout), seed), returnSequences, returnState, goBackwards, inputShape, name)
{
    /// <summary>Units.</summary>
    public int Units => units;

    /// <inheritdoc />
    protected internal override bool FlattenChildNames => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => WithRecurrentFlags(Cell.GetConfig());

    internal static new LSTM FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("unit_forget_bias", true),
        c.GetBool("return_sequences", false), c.GetBool("return_state", false), c.GetBool("go_backwards", false), c.InputShape, c.Name,
        c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));
}

/// <summary>Gated recurrent unit layer: <see cref="RNN"/> over a <see cref="GRUCell"/> (reset_after = true by default).</summary>
[SavedAs("GRU")]
public sealed class GRU(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
    bool resetAfter = true, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
    int?[]? inputShape = null, string? name = null, double dropout = 0, double recurrentDropout = 0, int? seed = null)
    : RNN(new GRUCell(units, activation, recurrentActivation, useBias, resetAfter, "gru_cell", CheckRate(nameof(GRU), name, nameof(dropout), dropout),
        CheckRate(nameof(GRU), name, nameof(recurrentDropout), recurrentDropout), seed), returnSequences, returnState, goBackwards, inputShape, name)
{
    /// <summary>Units.</summary>
    public int Units => units;

    /// <inheritdoc />
    protected internal override bool FlattenChildNames => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => WithRecurrentFlags(Cell.GetConfig());

    internal static new GRU FromConfig(LayerConfig c) => new(c.GetInt("units"), c.GetActivation("activation", Activation.Tanh),
        c.GetActivation("recurrent_activation", Activation.Sigmoid), c.GetBool("use_bias", true), c.GetBool("reset_after", true),
        c.GetBool("return_sequences", false), c.GetBool("return_state", false), c.GetBool("go_backwards", false), c.InputShape, c.Name,
        c.GetDouble("dropout", 0), c.GetDouble("recurrent_dropout", 0), c.GetIntOrNull("seed"));
}
