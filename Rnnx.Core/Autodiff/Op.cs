namespace Rnnx.Autodiff;

/// <summary>
/// A differentiable primitive. Each op is a stateless singleton; the per-call state (inputs, output,
/// saved buffers, integer arguments) lives in the <see cref="TapeEntry"/> the op recorded, so recording
/// allocates nothing. Forward code sits next to <see cref="Backward"/> in the op's file.
/// </summary>
internal abstract class Op
{
    /// <summary>The op's name as it appears in error messages and in docs/derivatives.md.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Accumulates the gradient of the output (<c>tape.GradOf(e.Out)</c>) into the gradients of the inputs that
    /// require one, via <see cref="Tape.AccumulateGrad{T}(TensorData, ReadOnlySpan{T}, Shape)"/> or <see cref="Tape.Grad{T}"/>.
    /// </summary>
    public abstract void Backward(Tape tape, in TapeEntry e);
}

/// <summary>One recorded operation. A plain struct in a growable array on the tape.</summary>
internal struct TapeEntry
{
    public Op Op;
    public TensorData Out;
    public TensorData? A, B, C;
    /// <summary>Range of additional inputs in <see cref="Tape.ExtraInputs"/> (concat, stack, custom ops).</summary>
    public int ExtraStart, ExtraCount;
    public TensorData? S0, S1, S2;
    public int I0, I1, I2, I3, I4, I5;
    public double D0;
    public object? Ext;
}
