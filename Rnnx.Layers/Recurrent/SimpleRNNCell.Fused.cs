namespace Rnnx.Layers;

public sealed partial class SimpleRNNCell : IFusedRecurrentCell
{
    bool IFusedRecurrentCell.CanFuse => FusedActivation(Activation) is not null;

    Tensor IFusedRecurrentCell.ForwardSequence(Tensor x, ReadOnlySpan<Tensor> initialStates, bool returnSequences, bool goBackwards, Span<Tensor> finalStates,
        in RecurrentDropoutMasks masks)
    {
        var options = masks.Options(new RecurrentSequenceOptions { ReturnSequences = returnSequences, GoBackwards = goBackwards, ReturnStates = finalStates.Length > 0 });
        var result = Tensor.SimpleRnnSequence(masks.SharedInput(x), Kernel.Value, RecurrentKernel.Value, Bias?.Value, initialStates[0], FusedActivation(Activation)!.Value, options);
        if (finalStates.Length > 0) finalStates[0] = result.FinalHidden;
        return result.Output;
    }

    /// <summary>The fused op's activation for a built-in one, or null (a custom activation runs the composed step).</summary>
    private static CellActivation? FusedActivation(Activation a) =>
        ReferenceEquals(a, Activation.Tanh) ? CellActivation.Tanh
        : ReferenceEquals(a, Activation.Relu) ? CellActivation.Relu
        : ReferenceEquals(a, Activation.Linear) ? CellActivation.Linear
        : ReferenceEquals(a, Activation.Sigmoid) ? CellActivation.Sigmoid
        : null;
}
