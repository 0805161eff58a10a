using Rnnx.Layers;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>
/// The chapter's layer-normalized simple RNN cell, written from public pieces exactly like the notebook's
/// <c>LNSimpleRNNCell</c>: a <see cref="SimpleRNNCell"/> with no activation, then <see cref="LayerNormalization"/>,
/// then the activation; the output is also the new state. The one definition the CLI, the tests and the
/// benchmarks share; it saves its arguments through <see cref="GetConfig"/> and loads once <see cref="Register"/> ran.
/// </summary>
internal sealed class LNSimpleRNNCell : RecurrentCell
{
    private readonly SimpleRNNCell _cell;
    private readonly LayerNormalization _layerNorm;
    private readonly Activation _activation;

    public LNSimpleRNNCell(int units, Activation? activation = null) : base(stateSizes: [units], outputSize: units)
    {
        Units = units;
        _cell = Track(new SimpleRNNCell(units, activation: Activation.Linear));
        _layerNorm = Track(new LayerNormalization());
        _activation = activation ?? Activation.Tanh;
    }

    /// <summary>State and output size.</summary>
    public int Units { get; }

    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        var outputs = _cell.Call(input, states, newStates);
        var normOutputs = _activation.Apply(_layerNorm.Call(outputs));
        newStates[0] = normOutputs;
        return normOutputs;
    }

    public override LayerConfig GetConfig() => new LayerConfig().Set("units", Units).Set("activation", _activation);

    /// <summary>Makes saved models with this cell loadable (idempotent).</summary>
    public static void Register() =>
        LayerRegistry.Register("LNSimpleRNNCell", c => new LNSimpleRNNCell(c.GetInt("units"), c.GetActivation("activation")));
}
