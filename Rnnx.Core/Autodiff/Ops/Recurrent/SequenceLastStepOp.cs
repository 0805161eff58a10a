using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// seq[:, T-1, :] of a (B, T, U) sequence produced by a fused recurrent op: the last output or a final state.
/// Inputs: A = the sequence, B = the fused op's output (the hidden sequence; may be A). Backward adds g into the
/// last step of A's gradient and makes sure B has a gradient buffer, so the fused op's backward runs even when
/// only a final state is used downstream. The result must stay a copy, never a view of A: the LSTM's backward writes
/// tanh(C) and then the previous states over its saved cell sequence, so a view of it would change under the caller.
/// </summary>
internal sealed class SequenceLastStepOp : Op
{
    public static readonly SequenceLastStepOp Instance = new();

    public override string Name => "SequenceLastStep";

    /// <param name="seq">The (B, T, U) sequence.</param>
    /// <param name="owner">The fused op's output; the entry is recorded when it requires a gradient.</param>
    public static Tensor Apply(TensorData seq, TensorData owner)
    {
        int b = seq.Shape[0], t = seq.Shape[1], u = seq.Shape[2];
        var o = Tape.NewResult(new Shape(b, u), seq.DType);
        if (o.DType == DType.Float32) Copy<float>(seq.Span<float>(), o.Span<float>(), b, t, u);
        else Copy<double>(seq.Span<double>(), o.Span<double>(), b, t, u);
        if (owner.RequiresGrad && Tape.RecordingTape() is { } tape)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = seq;
            e.B = owner;
        }
        return new Tensor(o);
    }

    private static void Copy<T>(ReadOnlySpan<T> seq, Span<T> dst, int b, int t, int u) where T : unmanaged
    {
        for (int i = 0; i < b; i++) seq.Slice((i * t + t - 1) * u, u).CopyTo(dst.Slice(i * u, u));
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData seq = e.A!, owner = e.B!;
        int b = seq.Shape[0], t = seq.Shape[1], u = seq.Shape[2];
        var g = tape.GradOf<T>(e.Out);
        var gs = tape.Grad<T>(seq);
        for (int i = 0; i < b; i++) Elementwise.AddInPlace(gs.Slice((i * t + t - 1) * u, u), g.Slice(i * u, u));
        if (!ReferenceEquals(seq, owner)) tape.Grad<T>(owner);
    }
}
