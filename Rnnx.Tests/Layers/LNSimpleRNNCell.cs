using Rnnx.Layers;

namespace Rnnx.Tests.Layers;

/// <summary>
/// The chapter's layer-normalized SimpleRNN cell, written exactly as the <see cref="RecurrentCell"/> XML doc example
/// (user code: a SimpleRNNCell without activation, LayerNormalization, then tanh; output and new state are both
/// the normalized, activated value).
/// </summary>
public sealed class LNSimpleRNNCell : RecurrentCell
{
    private readonly SimpleRNNCell _cell;
    private readonly LayerNormalization _layerNorm;
    private readonly Activation _activation;

    public LNSimpleRNNCell(int units, Activation? activation = null) : base(stateSizes: [units], outputSize: units)
    {
        _cell = Track(new SimpleRNNCell(units, activation: Activation.Linear));
        _layerNorm = Track(new LayerNormalization());
        _activation = activation ?? Activation.Tanh;
    }

    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        var outputs = _cell.Call(input, states, newStates);
        var normOutputs = _activation.Apply(_layerNorm.Call(outputs));
        newStates[0] = normOutputs;
        return normOutputs;
    }
}
