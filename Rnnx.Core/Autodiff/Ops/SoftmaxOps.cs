using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Softmax and log-softmax along one axis (<see cref="Tensor.Softmax"/>, <see cref="Tensor.LogSoftmax"/>), both
/// max-shifted (<see cref="SoftmaxKernels"/>). Backward is written with the output y: softmax gx += y ⊙ (g − Σ g ⊙ y);
/// log-softmax gx += g − exp(y) Σ g, sums taken along the axis. Log-softmax is the stable form the cross-entropy
/// losses use: it never takes the log of a rounded-to-zero probability.
/// </summary>
internal sealed class SoftmaxOp : Op
{
    public static readonly SoftmaxOp Softmax = new(log: false);
    public static readonly SoftmaxOp LogSoftmax = new(log: true);

    private readonly bool _log;

    private SoftmaxOp(bool log) => _log = log;

    public override string Name => _log ? "LogSoftmax" : "Softmax";

    /// <summary>The tensor viewed as (outer, n, inner) around the axis, as kept for backward.</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public int Outer { get; init; }
        public int Length { get; init; }
        public int Inner { get; init; }

        public void Record(Tape tape, SoftmaxOp op, TensorData output)
        {
            ref var e = ref tape.Record(op, output);
            e.A = X;
            e.SetArgs(new Args(Outer, Length, Inner));
        }

        public static Saved Of(in TapeEntry e)
        {
            var a = e.GetArgs<Args>();
            return new() { X = e.A!, Outer = a.Outer, Length = a.Length, Inner = a.Inner };
        }
    }

    private readonly record struct Args(int Outer, int Length, int Inner);

    public Tensor Apply(Tensor x, int axis)
    {
        var dx = x.Data;
        if (dx.Shape.Rank == 0) throw new ShapeMismatchException($"{Name}: needs at least one axis, got a scalar.");
        int a = dx.Shape.NormalizeAxis(axis, Name);
        int outer = 1, inner = 1, n = dx.Shape[a];
        for (int i = 0; i < a; i++) outer *= dx.Shape[i];
        for (int i = a + 1; i < dx.Shape.Rank; i++) inner *= dx.Shape[i];
        var o = Tape.NewResult(dx.Shape, dx.DType);
        if (o.DType == DType.Float32) Forward(dx.Span<float>(), o.Span<float>(), outer, n, inner);
        else Forward(dx.Span<double>(), o.Span<double>(), outer, n, inner);
        var tape = Tape.Recorder(dx);
        if (tape is not null) new Saved { X = dx, Outer = outer, Length = n, Inner = inner }.Record(tape, this, o);
        return new Tensor(o);
    }

    private void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Length == 0) return;
        if (_log) SoftmaxKernels.LogSoftmax(x, y, outer, n, inner);
        else SoftmaxKernels.Softmax(x, y, outer, n, inner);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = Saved.Of(e);
        if (!s.X.RequiresGrad || s.X.Length == 0) return;
        var g = tape.GradOf<T>(e.Out);
        var y = e.Out.Span<T>();
        var gx = tape.Grad<T>(s.X);
        if (_log) SoftmaxKernels.LogSoftmaxBackwardAccumulate(gx, g, y, s.Outer, s.Length, s.Inner);
        else SoftmaxKernels.SoftmaxBackwardAccumulate(gx, g, y, s.Outer, s.Length, s.Inner);
    }
}
