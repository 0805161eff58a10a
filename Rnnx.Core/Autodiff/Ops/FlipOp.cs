using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Reverses the order of positions along one axis (numpy's and Keras's <c>flip</c>; a copy). Its own inverse, so the
/// backward pass flips g into the input's gradient.
/// </summary>
internal sealed class FlipOp : Op
{
    public static readonly FlipOp Instance = new();

    public override string Name => "Flip";

    public static Tensor Apply(Tensor x, int axis)
    {
        var d = x.Data;
        int ax = d.Shape.NormalizeAxis(axis, "Flip");
        int outer = d.Shape.Product(0, ax), len = d.Shape[ax], inner = d.Shape.Product(ax + 1, d.Shape.Rank);
        var o = Tape.NewResult(d.Shape, d.DType);
        if (o.DType == DType.Float32) Copy<float>(d.Span<float>(), o.Span<float>(), outer, len, inner, accumulate: false);
        else Copy<double>(d.Span<double>(), o.Span<double>(), outer, len, inner, accumulate: false);
        var tape = Tape.Recorder(d);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = d;
            e.SetArgs(new FlipArgs(outer, len, inner));
        }
        return new Tensor(o);
    }

    /// <summary>dst[o, len − 1 − j, :] = src[o, j, :] (or += when <paramref name="accumulate"/>).</summary>
    private static void Copy<T>(ReadOnlySpan<T> src, Span<T> dst, int outer, int len, int inner, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < len; j++)
            {
                var s = src.Slice((o * len + j) * inner, inner);
                var t = dst.Slice((o * len + len - 1 - j) * inner, inner);
                if (accumulate) Elementwise.AddInPlace(t, s);
                else s.CopyTo(t);
            }
    }

    private readonly record struct FlipArgs(int Outer, int Length, int Inner);

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (!e.A!.RequiresGrad) return;
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var a = e.GetArgs<FlipArgs>();
        Copy<T>(tape.GradOf<T>(e.Out), tape.Grad<T>(e.A!), a.Outer, a.Length, a.Inner, accumulate: true);
    }
}
