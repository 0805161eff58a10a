namespace Rnnx.Layers;

public partial class LSTMCell : IFusedRecurrentCell
{
    bool IFusedRecurrentCell.CanFuse =>
        ReferenceEquals(Activation, Activation.Tanh) && ReferenceEquals(RecurrentActivation, Activation.Sigmoid);

    Tensor IFusedRecurrentCell.ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates,
        in RecurrentDropoutMasks masks, Tensor? mask)
    {
        var options = masks.Options(new RecurrentSequenceOptions { ReturnSequences = returnSequences, GoBackwards = goBackwards, ReturnStates = finalStates.Length > 0, Mask = mask });
        var result = Tensor.LstmSequence(masks.SharedInput(x), Kernel.Value, RecurrentKernel.Value, Bias?.Value, initialStates[0], initialStates[1], options, FusedPeepholes());
        if (finalStates.Length > 0)
        {
            finalStates[0] = result.FinalHidden;
            finalStates[1] = result.FinalCell;
        }
        return result.Output;
    }

    /// <summary>The diagonal peephole weights [p_i, p_f, p_o] of the fused op, or null (a plain LSTM cell has none).</summary>
    private protected virtual Tensor? FusedPeepholes() => null;

    bool IFusedRecurrentCell.CanFuseMask => FusedPeepholes() is null;
}
