namespace Rnnx.Layers;

public sealed partial class LSTMCell : IFusedRecurrentCell
{
    bool IFusedRecurrentCell.CanFuse =>
        ReferenceEquals(Activation, Activation.Tanh) && ReferenceEquals(RecurrentActivation, Activation.Sigmoid);

    Tensor IFusedRecurrentCell.ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates,
        in RecurrentDropoutMasks masks)
    {
        var options = masks.Options(new RecurrentSequenceOptions { ReturnSequences = returnSequences, GoBackwards = goBackwards, ReturnStates = finalStates.Length > 0 });
        var result = Tensor.LstmSequence(masks.SharedInput(x), Kernel.Value, RecurrentKernel.Value, Bias?.Value, initialStates[0], initialStates[1], options);
        if (finalStates.Length > 0)
        {
            finalStates[0] = result.FinalHidden;
            finalStates[1] = result.FinalCell;
        }
        return result.Output;
    }
}
