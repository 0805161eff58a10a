using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// y = clamp(x, min, max) (<see cref="Tensor.Clip"/>). Backward: gx += g where y = x (x within the bounds, inclusive),
/// nothing where x was clipped, as TensorFlow's clip_by_value; the comparison needs only the input and output.
/// </summary>
internal sealed class ClipOp : Op
{
    public static readonly ClipOp Instance = new();

    public override string Name => "Clip";

    public static Tensor Apply(Tensor x, double min, double max)
    {
        if (double.IsNaN(min) || double.IsNaN(max) || min > max)
            throw new ArgumentException($"Clip: the bounds must satisfy min <= max, got [{min}, {max}].");
        var dx = x.Data;
        var o = Tape.NewResult(dx.Shape, dx.DType);
        if (o.DType == DType.Float32) TP.Clamp(dx.Span<float>(), (float)min, (float)max, o.Span<float>());
        else TP.Clamp(dx.Span<double>(), min, max, o.Span<double>());
        var tape = Tape.Recorder(dx);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = dx;
        }
        return new Tensor(o);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var a = e.A!;
        if (!a.RequiresGrad) return;
        var g = tape.GradOf<T>(e.Out);
        var x = a.Span<T>();
        var y = e.Out.Span<T>();
        var dx = tape.Grad<T>(a);
        for (int i = 0; i < dx.Length; i++)
            if (x[i] == y[i]) dx[i] += g[i];
    }
}
