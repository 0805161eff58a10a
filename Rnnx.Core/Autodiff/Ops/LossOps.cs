using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Autodiff.Ops;

/// <summary>Element-wise regression losses, reduced to a scalar mean over all elements.</summary>
internal enum LossKind { MeanSquaredError, MeanAbsoluteError, Huber }

/// <summary>
/// Fused regression losses: mean over all elements of f(pred - true). MSE f = d^2; MAE f = |d|;
/// Huber f = d^2/2 for |d| &lt;= delta, else delta (|d| - delta/2). The sum is accumulated in double.
/// Backward: dPred = g f'(d) / N, dTrue = -dPred.
/// </summary>
internal sealed class LossOp : Op
{
    private static readonly LossOp[] Instances = [new(LossKind.MeanSquaredError), new(LossKind.MeanAbsoluteError), new(LossKind.Huber)];

    private readonly LossKind _kind;

    private LossOp(LossKind kind) => _kind = kind;

    public override string Name => _kind.ToString();

    public static Tensor Apply(LossKind kind, Tensor yTrue, Tensor yPred, double delta)
    {
        var op = Instances[(int)kind];
        var t = yTrue.Data;
        var p = yPred.Data;
        if (t.Shape != p.Shape)
            throw new ShapeMismatchException($"{op.Name}: targets {t.Shape} and predictions {p.Shape} differ.");
        if (t.DType != p.DType)
            throw new ArgumentException($"{op.Name}: dtypes differ, targets {t.DType} and predictions {p.DType}.");
        var o = Tape.NewResult(Shape.Scalar, p.DType);
        var tape = Tape.Recorder(t, p);
        // d = pred - true is kept for backward when recording.
        TensorData diff = tape is not null ? tape.NewData(p.Shape, p.DType) : Tape.NewResult(p.Shape, p.DType);
        if (o.DType == DType.Float32) Forward<float>(kind, t, p, diff, o, (float)delta);
        else Forward<double>(kind, t, p, diff, o, delta);
        if (tape is not null)
        {
            ref var e = ref tape.Record(op, o);
            e.A = t;
            e.B = p;
            e.S0 = diff;
            e.SetArgs(delta);
        }
        return new Tensor(o);
    }

    private static void Forward<T>(LossKind kind, TensorData t, TensorData p, TensorData diff, TensorData o, T delta) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var d = diff.Span<T>();
        TP.Subtract(p.Span<T>(), t.Span<T>(), d);
        double sum = 0;
        switch (kind)
        {
            case LossKind.MeanSquaredError:
                // Pairwise-summed blocks keep the float32 error small on long inputs.
                for (int i = 0; i < d.Length; i += 4096) sum += double.CreateChecked(TP.SumOfSquares<T>(d.Slice(i, Math.Min(4096, d.Length - i))));
                break;
            case LossKind.MeanAbsoluteError:
                for (int i = 0; i < d.Length; i += 4096) sum += double.CreateChecked(TP.SumOfMagnitudes<T>(d.Slice(i, Math.Min(4096, d.Length - i))));
                break;
            default:
                double dl = double.CreateChecked(delta);
                foreach (var v in d)
                {
                    double a = Math.Abs(double.CreateChecked(v));
                    sum += a <= dl ? 0.5 * a * a : dl * (a - 0.5 * dl);
                }
                break;
        }
        o.Span<T>()[0] = T.CreateChecked(sum / d.Length);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var d = e.S0!.Span<T>();
        T g = tape.GradOf<T>(e.Out)[0];
        T n = T.CreateChecked(d.Length);
        var s = tape.Scratch<T>(d.Length);
        switch (_kind)
        {
            case LossKind.MeanSquaredError:
                TP.Multiply(d, (g + g) / n, s);                    // 2 d g / N
                break;
            case LossKind.MeanAbsoluteError:
                for (int i = 0; i < d.Length; i++) s[i] = d[i] > T.Zero ? g / n : d[i] < T.Zero ? -g / n : T.Zero;   // sign(d) g / N
                break;
            default:
                T delta = T.CreateChecked(e.GetArgs<double>());
                for (int i = 0; i < d.Length; i++) s[i] = T.Clamp(d[i], -delta, delta) * g / n;          // clip(d, ±delta) g / N
                break;
        }
        if (e.B!.RequiresGrad) Kernels.Elementwise.AddInPlace(tape.Grad<T>(e.B!), s);
        if (e.A!.RequiresGrad) TP.Subtract(tape.Grad<T>(e.A!), s, tape.Grad<T>(e.A!));
    }
}
