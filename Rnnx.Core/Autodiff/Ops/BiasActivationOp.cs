using System.Numerics;
using Rnnx.Kernels;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Autodiff.Ops;

/// <summary>The activations the fused bias-activation op implements.</summary>
public enum FusedActivation
{
    /// <summary>Identity.</summary>
    Linear,
    /// <summary>max(z, 0).</summary>
    Relu,
    /// <summary>tanh(z).</summary>
    Tanh,
    /// <summary>1 / (1 + e^-z).</summary>
    Sigmoid,
}

/// <summary>
/// y = act(x + bias) with bias (n,) broadcast over the rows of x (..., n), in one pass: the epilogue of a Dense or
/// Conv1D layer. Backward, with dz = g ⊙ act'(y) from the saved output: dx += dz, dbias += Σ_rows dz.
/// </summary>
internal sealed class BiasActivationOp : Op
{
    public static readonly BiasActivationOp Instance = new();

    public override string Name => "BiasActivation";

    public static Tensor Apply(Tensor x, Tensor bias, FusedActivation act)
    {
        var dx = x.Data;
        var db = bias.Data;
        if (db.Shape.Rank != 1 || dx.Shape.Rank < 1 || db.Shape[0] != dx.Shape.Last)
            throw new ShapeMismatchException($"BiasActivation: bias {db.Shape} must be (last dimension,) of input {dx.Shape}.");
        if (dx.DType != db.DType) throw new ArgumentException($"BiasActivation: dtypes differ, input {dx.DType} and bias {db.DType}.");
        var o = Tape.NewResult(dx.Shape, dx.DType);
        int n = dx.Shape.Last, rows = dx.Length / n;
        if (o.DType == DType.Float32) Forward<float>(dx.Span<float>(), db.Span<float>(), o.Span<float>(), rows, n, act);
        else Forward<double>(dx.Span<double>(), db.Span<double>(), o.Span<double>(), rows, n, act);
        var tape = Tape.Recorder(dx, db);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = dx;
            e.B = db;
            e.SetArgs(act);
        }
        return new Tensor(o);
    }

    private static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, Span<T> y, int rows, int n, FusedActivation act)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        x.CopyTo(y);
        Epilogue(y, b, rows, n, act);
    }

    /// <summary>y = act(y + bias) in place (y: rows × n).</summary>
    internal static void Epilogue<T>(Span<T> y, ReadOnlySpan<T> b, int rows, int n, FusedActivation act)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (act == FusedActivation.Relu && n >= BiasActivationKernels.MinColumns)
        {
            BiasActivationKernels.AddRowVectorRelu(y, b, rows, n);
            return;
        }
        ReductionKernels.AddRowVector(y, b, rows, n);
        switch (act)
        {
            case FusedActivation.Relu: Elementwise.Relu<T>(y, y); break;
            case FusedActivation.Tanh: TP.Tanh<T>(y, y); break;
            case FusedActivation.Sigmoid: TP.Sigmoid<T>(y, y); break;
        }
    }

    /// <summary>dz += g ⊙ act'(from the output y), for an activation other than linear.</summary>
    internal static void AccumulateActivationGradient<T>(Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, FusedActivation act)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (act)
        {
            case FusedActivation.Relu: Elementwise.ReluBackwardAccumulate(dz, g, y); break;
            case FusedActivation.Tanh: Elementwise.TanhBackwardAccumulate(dz, g, y); break;
            case FusedActivation.Sigmoid: Elementwise.SigmoidBackwardAccumulate(dz, g, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(act), act, "BiasActivation: the linear activation has no derivative pass.");
        }
    }

    /// <summary>
    /// dz = 0 + g ⊙ act'(from the output y), for an activation other than linear: <see cref="AccumulateActivationGradient"/>
    /// into a zeroed dz, the same bits; dz may be y's own buffer.
    /// </summary>
    internal static void ActivationGradient<T>(Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, FusedActivation act)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        switch (act)
        {
            case FusedActivation.Relu: Elementwise.ReluBackward(dz, g, y); break;
            case FusedActivation.Tanh: Elementwise.TanhBackward(dz, g, y); break;
            case FusedActivation.Sigmoid: Elementwise.SigmoidBackward(dz, g, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(act), act, "BiasActivation: the linear activation has no derivative pass.");
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData x = e.A!, b = e.B!;
        var g = tape.GradOf<T>(e.Out);
        var act = e.GetArgs<FusedActivation>();
        ReadOnlySpan<T> dz = g;
        bool xDone = false;
        if (act != FusedActivation.Linear)
        {
            // dz is accumulated straight into x's gradient when that is still empty (it is then exactly dz), instead
            // of into a scratch of the output's size added to it afterwards: the tape keeps nothing extra per layer
            xDone = x.RequiresGrad && !tape.HasGrad(x);
            Span<T> s;
            if (xDone)
                s = tape.Grad<T>(x);
            else
            {
                s = tape.Scratch<T>(g.Length);
                s.Clear();
            }
            AccumulateActivationGradient<T>(s, g, e.Out.Span<T>(), act);
            dz = s;
        }
        int n = b.Length;
        if (x.RequiresGrad && !xDone) Elementwise.AddInPlace(tape.Grad<T>(x), dz);
        if (b.RequiresGrad) ReductionKernels.SumRows(dz, tape.Grad<T>(b), dz.Length / n, n, accumulate: true);
    }
}
