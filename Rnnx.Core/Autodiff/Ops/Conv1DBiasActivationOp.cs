using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// y = act(conv1d(x, kernel) + bias): <see cref="Conv1DOp"/> followed by <see cref="BiasActivationOp"/>'s epilogue applied
/// in place, so a layer keeps one buffer (its output) instead of the pre-activation beside it. Backward: dz = g ⊙ act'(y)
/// from the saved output (as <see cref="BiasActivationOp"/>), written over y itself with
/// <see cref="Tape.ReleaseIntermediateValues"/> (y is dead then), then dbias += Σ_rows dz and the convolution's two
/// gradient kernels on dz. The same operations in the same order as the two ops, so the same numbers.
/// </summary>
internal sealed class Conv1DBiasActivationOp : Op
{
    public static readonly Conv1DBiasActivationOp Instance = new();

    public override string Name => "Conv1DBiasActivation";

    /// <summary>The arguments kept for backward.</summary>
    private readonly record struct Args(int Stride, int Dilation, Conv1DPadding Padding, FusedActivation Activation);

    public static Tensor Apply(Tensor x, Tensor kernel, Tensor bias, FusedActivation act, int stride, int dilation, Conv1DPadding padding)
    {
        TensorData dx = x.Data, dw = kernel.Data, db = bias.Data;
        var geo = Conv1DOp.Check("Conv1DBiasActivation", dx, dw, stride, dilation, padding);
        if (db.Shape.Rank != 1 || db.Shape[0] != dw.Shape[2])
            throw new ShapeMismatchException($"Conv1DBiasActivation: bias {db.Shape} must be (filters,) of kernel {dw.Shape}.");
        if (db.DType != dw.DType)
            throw new ArgumentException($"Conv1DBiasActivation: dtypes differ, kernel {dw.DType} and bias {db.DType}.");
        if (!Enum.IsDefined(act))
            throw new ArgumentOutOfRangeException(nameof(act), act, "Conv1DBiasActivation: unknown activation.");
        int batch = dx.Shape[0], cin = dx.Shape[2], cout = dw.Shape[2];
        var o = Tape.NewResult(new Shape(batch, geo.OutputLength, cout), dx.DType);
        if (o.DType == DType.Float32) Forward<float>(dx, dw, db, o, batch, cin, cout, geo, act);
        else Forward<double>(dx, dw, db, o, batch, cin, cout, geo, act);
        var tape = Tape.Recorder(dx, dw, db);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = dx;
            e.B = dw;
            e.C = db;
            e.SetArgs(new Args(stride, dilation, padding, act));
        }
        return new Tensor(o);
    }

    private static void Forward<T>(TensorData x, TensorData w, TensorData b, TensorData o, int batch, int cin, int cout, Conv1DGeometry geo, FusedActivation act)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var y = o.Span<T>();
        if (act is FusedActivation.Linear or FusedActivation.Relu)
        {
            // exact elementwise arithmetic whatever the span: applied to each row block while it is in cache
            Conv1DKernels.Forward(x.Span<T>(), w.Span<T>(), y, batch, cin, cout, geo, false, new Epilogue<T>(b, cout, act));
            return;
        }
        // tanh and sigmoid may round a span's tail differently from its vectors: one pass over the whole output
        Conv1DKernels.Forward<T>(x.Span<T>(), w.Span<T>(), y, batch, cin, cout, geo);
        BiasActivationOp.Epilogue<T>(y, b.Span<T>(), y.Length / cout, cout, act);
    }

    /// <summary>The bias and activation (<see cref="BiasActivationOp.Epilogue{T}"/>) on finished output rows.</summary>
    private readonly struct Epilogue<T>(TensorData bias, int cout, FusedActivation act) : IRowsEpilogue<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static bool None => false;

        public void Apply(Span<T> rows, int count) => BiasActivationOp.Epilogue<T>(rows, bias.Span<T>(), count, cout, act);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData x = e.A!, w = e.B!, b = e.C!;
        int batch = x.Shape[0], cin = x.Shape[2], cout = w.Shape[2];
        var args = e.GetArgs<Args>();
        var geo = Conv1DGeometry.Create(x.Shape[1], w.Shape[0], args.Stride, args.Dilation, args.Padding);
        ReadOnlySpan<T> dz = tape.GradOf<T>(e.Out);
        if (args.Activation != FusedActivation.Linear)
        {
            // y is read here for the last time (the next layer's backward, which read it as its input, has run): dz
            // goes over it when the tape knows nobody reads y afterwards, else into a scratch
            var y = e.Out.Span<T>();
            var s = tape.TryTakeOutputBuffer(e.Out) ? y : tape.Scratch<T>(dz.Length);
            BiasActivationOp.ActivationGradient<T>(s, dz, y, args.Activation);
            dz = s;
            tape.ReleaseOutputGradient(e);   // x's gradient below can take its place
        }
        if (b.RequiresGrad) ReductionKernels.SumRows(dz, tape.Grad<T>(b), dz.Length / cout, cout, accumulate: true);
        if (x.RequiresGrad) Conv1DOp.InputGradient<T>(tape, x, dz, w.Span<T>(), batch, cin, cout, geo);
        if (w.RequiresGrad) Conv1DKernels.BackwardWeight<T>(x.Span<T>(), dz, tape.Grad<T>(w), batch, cin, cout, geo);
    }
}
