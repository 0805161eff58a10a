namespace Rnnx.Layers;

/// <summary>
/// The dropout masks of one call of a recurrent layer, drawn once per sequence and reused at every step (Keras's
/// <c>DropoutRNNCell</c>, keras/src/layers/rnn/dropout_rnn_cell.py). <see cref="Input"/> is (batch, gates, features)
/// with gates 1 (one mask shared by every gate) or the cell's gate count; <see cref="Recurrent"/> is (batch, gates,
/// units). Invalid (default) tensors mean no mask.
/// </summary>
internal readonly record struct RecurrentDropoutMasks(Tensor Input, Tensor Recurrent)
{
    public bool Any => Input.IsValid || Recurrent.IsValid;

    /// <summary>Whether the input mask is one per gate (else one shared mask, or none).</summary>
    public bool PerGateInput => Input.IsValid && Input.Shape[1] > 1;

    /// <summary>x ⊙ m for the shared input mask (x (batch, features) or (batch, time, features)); x itself otherwise.</summary>
    public Tensor SharedInput(Tensor x) =>
        !Input.IsValid || PerGateInput ? x : x.Rank == 3 ? x * Input : x * Tensor.Select(Input, 1, 0);

    /// <summary>x ⊙ m_g (batch, size) for gate g of a per-gate mask <paramref name="masks"/>, or x when it is invalid.</summary>
    public static Tensor Gate(Tensor x, Tensor masks, int g) => masks.IsValid ? x * Tensor.Select(masks, 1, g) : x;

    /// <summary>The fused op's options for these masks (a shared input mask is applied to x by <see cref="SharedInput"/> first).</summary>
    public RecurrentSequenceOptions Options(RecurrentSequenceOptions options) => options with
    {
        InputMasks = PerGateInput ? Input : null,
        RecurrentMasks = Recurrent.IsValid ? Recurrent : null,
    };
}

/// <summary>A built-in cell with Keras's <c>dropout</c> and <c>recurrent_dropout</c>.</summary>
internal interface IDropoutCell
{
    /// <summary>Fraction of the inputs dropped.</summary>
    double Dropout { get; }

    /// <summary>Fraction of the recurrent state dropped (in the recurrent projection only).</summary>
    double RecurrentDropout { get; }

    /// <summary>The cell's own seed, or null.</summary>
    int? Seed { get; }

    /// <summary>Gates of the cell's projections (1, 4 or 3).</summary>
    int Gates { get; }

    /// <summary>One step with the sequence's masks (<see cref="RecurrentCell.Step"/> is this with no masks).</summary>
    Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates, in RecurrentDropoutMasks masks);
}

public partial class RNN
{
    private long _dropoutCallsOutsideContext;

    /// <summary>Refuses a dropout rate outside [0, 1), naming the layer (its name when given, else its class).</summary>
    private protected static double CheckRate(string layerClass, string? name, string argument, double rate) =>
        TrainingContext.CheckRate(name is null ? layerClass : $"{layerClass} '{name}'", argument, rate);

    /// <summary>
    /// The masks for one training call: one per gate when the cell has several gates and recurrent dropout is on (Keras 3
    /// switches LSTM and GRU to <c>implementation=1</c> then, with <c>dropout_mask_count</c> masks), else one shared input
    /// mask; drawn from the <see cref="TrainingContext"/> with this layer's name (or the cell's seed).
    /// </summary>
    private RecurrentDropoutMasks DropoutMasks(IDropoutCell cell, int batch, int features, DType dtype)
    {
        if (cell.Dropout == 0 && cell.RecurrentDropout == 0) return default;
        int gates = cell.Gates, units = Cell.OutputSize;
        bool perGate = cell.RecurrentDropout > 0;
        Tensor input = default, recurrent = default;
        if (cell.Dropout > 0)
            input = Tensor.DropoutMask(new Shape(batch, perGate ? gates : 1, features), cell.Dropout,
                TrainingContext.KeyFor(this, cell.Seed, 1, ref _dropoutCallsOutsideContext), dtype);
        if (perGate)
            recurrent = Tensor.DropoutMask(new Shape(batch, gates, units), cell.RecurrentDropout,
                TrainingContext.KeyFor(this, cell.Seed, 2, ref _dropoutCallsOutsideContext), dtype);
        return new RecurrentDropoutMasks(input, recurrent);
    }
}
