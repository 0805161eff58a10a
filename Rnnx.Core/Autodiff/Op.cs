using System.Runtime.CompilerServices;

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

/// <summary>
/// One recorded operation. A plain struct in a growable array on the tape. Tensors are kept in the named input and
/// saved-buffer fields; an op's other arguments (sizes, flags, scalars) are its own small struct, stored with
/// <see cref="SetArgs{TArgs}"/> and read back with <see cref="GetArgs{TArgs}"/> in the op's file, so every op's state
/// has typed, named fields without any allocation.
/// </summary>
internal struct TapeEntry
{
    public Op Op;
    public TensorData Out;
    public TensorData? A, B, C;
    /// <summary>Range of additional inputs in <see cref="Tape.ExtraInputs"/> (concat, stack, custom ops).</summary>
    public int ExtraStart, ExtraCount;
    /// <summary>Buffers the forward pass saved for backward (what each holds is named by the op that records it).</summary>
    public TensorData? S0, S1, S2;
    private ArgStorage _args;
    /// <summary>The user object of a custom function.</summary>
    public object? Ext;

    /// <summary>Stores the op's arguments (an unmanaged struct of at most <see cref="ArgStorage.Bytes"/> bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetArgs<TArgs>(in TArgs args) where TArgs : unmanaged
    {
        if (Unsafe.SizeOf<TArgs>() > ArgStorage.Bytes) throw new InvalidOperationException($"{typeof(TArgs).Name} is larger than {ArgStorage.Bytes} bytes.");
        Unsafe.As<ArgStorage, TArgs>(ref _args) = args;
    }

    /// <summary>The op's arguments as stored by <see cref="SetArgs{TArgs}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly TArgs GetArgs<TArgs>() where TArgs : unmanaged
    {
        if (Unsafe.SizeOf<TArgs>() > ArgStorage.Bytes) throw new InvalidOperationException($"{typeof(TArgs).Name} is larger than {ArgStorage.Bytes} bytes.");
        return Unsafe.As<ArgStorage, TArgs>(ref Unsafe.AsRef(in _args));
    }

    /// <summary>Inline room for an op's argument struct.</summary>
    [InlineArray(4)]
    internal struct ArgStorage
    {
        public const int Bytes = 32;
        private long _element0;
    }
}
