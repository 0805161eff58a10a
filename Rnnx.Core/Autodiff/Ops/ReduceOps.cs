using System.Numerics;
using Rnnx.Kernels;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Sum (scale 1) or mean (scale 1/count) over a set of axes. Forward is the un-broadcast of x to the kept-axes shape;
/// backward broadcasts scale * g back to x's shape.
/// </summary>
internal sealed class SumOp : Op
{
    public static readonly SumOp Instance = new();

    public override string Name => "Sum";

    public static Tensor Apply(Tensor x, ReadOnlySpan<int> axes, bool keepDims, bool mean)
    {
        var d = x.Data;
        string name = mean ? "Mean" : "Sum";
        int rank = d.Shape.Rank;
        int mask = 0;
        if (axes.Length == 0) mask = (1 << rank) - 1;
        foreach (int a in axes)
        {
            int ax = d.Shape.NormalizeAxis(a, name);
            if ((mask & (1 << ax)) != 0) throw new ArgumentException($"{name}: axis {a} is repeated.", nameof(axes));
            mask |= 1 << ax;
        }
        Span<int> keep = stackalloc int[Shape.MaxRank], red = stackalloc int[Shape.MaxRank];
        int nr = 0, count = 1;
        for (int i = 0; i < rank; i++)
        {
            bool reduced = (mask & (1 << i)) != 0;
            keep[i] = reduced ? 1 : d.Shape[i];
            if (reduced) count *= d.Shape[i];
            else red[nr++] = d.Shape[i];
        }
        var keepShape = new Shape(keep[..rank]);
        var outShape = keepDims ? keepShape : new Shape(red[..nr]);
        double scale = mean ? 1.0 / count : 1.0;
        var o = Tape.NewResult(outShape, d.DType);
        if (o.DType == DType.Float32) Forward<float>(d, o, keepShape, (float)scale);
        else Forward<double>(d, o, keepShape, scale);
        var tape = Tape.Recorder(d);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = d;
            e.SetArgs(new Args(mask, scale));
        }
        return new Tensor(o);
    }

    private static void Forward<T>(TensorData x, TensorData o, Shape keepShape, T scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dst = o.Span<T>();
        dst.Clear();
        Broadcasting.SumTo(x.Span<T>(), x.Shape.Dimensions, dst, keepShape.Dimensions);
        if (scale != T.One) TP.Multiply(dst, scale, dst);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (!e.A!.RequiresGrad) return;
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    /// <summary>Bit i of <c>ReducedAxes</c> set when axis i is summed; <c>Scale</c> 1 for Sum, 1/count for Mean.</summary>
    private readonly record struct Args(int ReducedAxes, double Scale);

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var a = e.A!;
        int rank = a.Shape.Rank;
        Span<int> keep = stackalloc int[Shape.MaxRank];
        var args = e.GetArgs<Args>();
        for (int i = 0; i < rank; i++) keep[i] = (args.ReducedAxes & (1 << i)) != 0 ? 1 : a.Shape[i];
        var keepShape = new Shape(keep[..rank]);
        ReadOnlySpan<T> g = tape.GradOf<T>(e.Out);
        if (args.Scale != 1.0)
        {
            var s = tape.Scratch<T>(g.Length);
            TP.Multiply(g, T.CreateChecked(args.Scale), s);
            g = s;
        }
        Broadcasting.BroadcastAdd(g, keepShape.Dimensions, tape.Grad<T>(a), a.Shape.Dimensions);
    }
}
