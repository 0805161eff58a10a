namespace Rnnx;

/// <summary>The activation of <see cref="Tensor.SimpleRnnSequence"/> (the built-in ones with a fused kernel).</summary>
public enum CellActivation
{
    /// <summary>No activation: h = z.</summary>
    Linear = 0,

    /// <summary>tanh (Keras's default for SimpleRNN).</summary>
    Tanh = 1,

    /// <summary>max(z, 0); derivative 0 at 0 as TensorFlow.</summary>
    Relu = 2,

    /// <summary>1 / (1 + exp(−z)).</summary>
    Sigmoid = 3,
}

/// <summary>
/// How a whole-sequence recurrent operation (<see cref="Tensor.SimpleRnnSequence"/>, <see cref="Tensor.LstmSequence"/>,
/// <see cref="Tensor.GruSequence"/>) runs and what it returns. A value type with named settings, so that later settings
/// (per-sample lengths, dropout masks) can be added without changing the operations' signatures; <c>default</c> is
/// Keras's default (last output only, forward in time, no states).
/// </summary>
public readonly record struct RecurrentSequenceOptions
{
    /// <summary>Return every step's output, (batch, time, units), instead of the last one, (batch, units) (Keras <c>return_sequences</c>).</summary>
    public bool ReturnSequences { get; init; }

    /// <summary>Process the sequence from the last step to the first; outputs come in processing order (Keras <c>go_backwards</c>).</summary>
    public bool GoBackwards { get; init; }

    /// <summary>
    /// Also return the final states (Keras <c>return_state</c>) in <see cref="RecurrentSequence.FinalHidden"/> and, for
    /// LSTM, <see cref="RecurrentSequence.FinalCell"/>. They are differentiable: a loss on them reaches the inputs and
    /// weights through the same fused backward pass.
    /// </summary>
    public bool ReturnStates { get; init; }

    /// <summary>
    /// Optional per-sequence dropout masks on the input, one per gate: (batch, gates, features), gates 1 for
    /// <see cref="Tensor.SimpleRnnSequence"/>, 4 (i, f, g, o) for <see cref="Tensor.LstmSequence"/>, 3 (z, r, h) for
    /// <see cref="Tensor.GruSequence"/>. Gate g's input projection becomes (x_t ⊙ m_g)·kernel_g at every step (Keras's
    /// per-gate dropout, <c>implementation=1</c>). Constants: no gradient reaches them. Null: no input mask (a mask shared
    /// by all gates is simply x ⊙ m before the op).
    /// </summary>
    public Tensor? InputMasks { get; init; }

    /// <summary>
    /// Optional per-sequence recurrent dropout masks, one per gate: (batch, gates, units). Gate g's recurrent term
    /// becomes (h_{t−1} ⊙ m_g)·recurrentKernel_g at every step, in the forward and the backward pass (Keras's
    /// <c>recurrent_dropout</c>); the carried state itself (GRU's z ⊙ h_{t−1}, LSTM's c) is not masked. Constants.
    /// </summary>
    public Tensor? RecurrentMasks { get; init; }
}

/// <summary>The result of a whole-sequence recurrent operation.</summary>
public readonly struct RecurrentSequence
{
    internal RecurrentSequence(Tensor output, Tensor finalHidden, Tensor finalCell)
    {
        Output = output;
        FinalHidden = finalHidden;
        FinalCell = finalCell;
    }

    /// <summary>(batch, time, units) with <see cref="RecurrentSequenceOptions.ReturnSequences"/>, else (batch, units).</summary>
    public Tensor Output { get; }

    /// <summary>The hidden state after the last processed step, (batch, units); <c>default</c> (not <see cref="Tensor.IsValid"/>) unless <see cref="RecurrentSequenceOptions.ReturnStates"/>.</summary>
    public Tensor FinalHidden { get; }

    /// <summary>The LSTM cell state after the last processed step, (batch, units); <c>default</c> for other cells or without <see cref="RecurrentSequenceOptions.ReturnStates"/>.</summary>
    public Tensor FinalCell { get; }
}
