namespace Rnnx.Layers;

/// <summary>
/// Masks through calls on several inputs or outputs (Keras's <c>layer([a, b], mask=[ma, mb])</c> and
/// <c>compute_mask(inputs, mask)</c> with lists): how a functional model carries masks into merge layers, recurrent
/// layers called with initial states and Bidirectional with several outputs.
/// </summary>
public abstract partial class Layer
{
    /// <summary>
    /// Runs the layer on several inputs with one mask (or null) per input, writing its <see cref="OutputCount"/> outputs.
    /// Without any mask this is <see cref="CallMany(ReadOnlySpan{Tensor}, Span{Tensor}, bool)"/>.
    /// </summary>
    /// <param name="inputs">(batch, ...) tensors, in the layer's input order.</param>
    /// <param name="masks">One (batch, time) mask or null per input.</param>
    /// <param name="outputs">The layer's outputs.</param>
    /// <param name="training">Keras's training flag (see <see cref="Call(Tensor, bool)"/>).</param>
    /// <exception cref="ArgumentException">Not one mask per input, a mask that does not fit its input, or a layer that cannot take masks on such a call (named).</exception>
    public void CallMany(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, Span<Tensor> outputs, bool training = false)
    {
        if (masks.Length != inputs.Length)
            throw new ArgumentException($"{Name}: {masks.Length} mask(s) for {inputs.Length} input(s); pass one mask (or null) per input.", nameof(masks));
        if (!AnyMask(masks))
        {
            CallMany(inputs, outputs, training);
            return;
        }
        if (outputs.Length != OutputCount)
            throw new ArgumentException($"{Name}: gives {OutputCount} output(s), the caller expects {outputs.Length}.", nameof(outputs));
        for (int i = 0; i < inputs.Length; i++)
            if (masks[i] is Tensor m) CheckMask(inputs[i], m);
        if (inputs.Length == 1 && OutputCount == 1)
        {
            outputs[0] = Call(inputs[0], masks[0], training);
            return;
        }
        CallMany(inputs, outputs, training, masks);
    }

    /// <summary>
    /// The masks of the layer's outputs (Keras <c>compute_mask</c> with lists), given its inputs and their masks: for one
    /// input and one output <see cref="ComputeMask"/>; otherwise null masks, and a mask reaching a layer that does not
    /// say how it carries masks on such a call is refused naming the layer.
    /// </summary>
    /// <exception cref="ArgumentException">Not one mask per input and one slot per output, or a mask the layer cannot take.</exception>
    public virtual void ComputeMasks(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor?> masks, Span<Tensor?> outputMasks)
    {
        if (masks.Length != inputs.Length || outputMasks.Length != OutputCount)
            throw new ArgumentException($"{Name}: {masks.Length} mask(s) for {inputs.Length} input(s) and {outputMasks.Length} output mask slot(s) for {OutputCount} output(s).");
        if (inputs.Length == 1 && OutputCount == 1)
        {
            outputMasks[0] = ComputeMask(inputs[0], masks[0]);
            return;
        }
        if (AnyMask(masks))
            throw new ArgumentException($"{Name}: a {GetType().Name} layer cannot carry masks through a call on {inputs.Length} input(s) with {OutputCount} output(s) " +
                $"(inputs {string.Join(", ", inputs.ToArray().Select(t => t.Shape.ToString()))}); drop the mask before it.");
        outputMasks.Clear();
    }

    /// <summary>
    /// The forward computation on several inputs with their masks (at least one mask given and checked). The default
    /// refuses; layers that take masks on such calls (merge layers, recurrent layers with initial states,
    /// Bidirectional) override it.
    /// </summary>
    /// <exception cref="ArgumentException">The layer cannot take masks on a call with several inputs or outputs.</exception>
    protected virtual void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, ReadOnlySpan<Tensor?> masks) =>
        throw new ArgumentException($"{Name}: a {GetType().Name} layer cannot take masks on a call with {inputs.Length} input(s) and {OutputCount} output(s); drop the mask before it.");

    private protected static bool AnyMask(ReadOnlySpan<Tensor?> masks)
    {
        foreach (var m in masks) if (m is not null) return true;
        return false;
    }

    /// <summary><see cref="CallMany(ReadOnlySpan{Tensor}, Span{Tensor}, bool)"/>'s build and dtype checks, then the masked forward (output count checked by the caller).</summary>
    private void CallMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training, ReadOnlySpan<Tensor?> masks)
    {
        EnsureBuiltForMany(inputs);
        ForwardMany(inputs, outputs, training, masks);
    }
}
