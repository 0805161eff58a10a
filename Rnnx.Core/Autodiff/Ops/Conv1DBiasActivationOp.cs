using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// y = act(conv1d(x, kernel) + bias): <see cref="Conv1DOp"/> followed by <see cref="BiasActivationOp"/>'s epilogue applied
/// in place, so a layer keeps one buffer (its output) instead of the pre-activation beside it. Backward: dz = g ⊙ act'(y)
/// from the saved output (as <see cref="BiasActivationOp"/>), written over y itself with
/// <see cref="Tape.ReleaseIntermediateValues"/> (y is dead then), together with the bias gradient's column sums
/// (<see cref="ActivationGradientKernels"/>), block of batch items by block inside the convolution's backward
/// (<see cref="Conv1DKernels.Backward{T, TPrologue}"/>), whose input and weight gradients then read each block while it
/// is in cache. The same operations on every element in the same order as the two ops, so the same numbers.
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
        ReadOnlySpan<T> g = tape.GradOf<T>(e.Out);
        if (args.Activation == FusedActivation.Linear)
        {
            if (b.RequiresGrad) ReductionKernels.SumRows(g, tape.Grad<T>(b), g.Length / cout, cout, accumulate: true);
            if (x.RequiresGrad) Conv1DOp.InputGradient<T>(tape, x, g, w.Span<T>(), batch, cin, cout, geo);
            if (w.RequiresGrad) Conv1DKernels.BackwardWeight<T>(x.Span<T>(), g, tape.Grad<T>(w), batch, cin, cout, geo);
            return;
        }
        // y is read here for the last time (the next layer's backward, which read it as its input, has run): dz goes
        // over it when the tape knows nobody reads y afterwards, else into a scratch. dz is made (with the bias
        // gradient's column sums) block by block inside the convolution's backward, just before each block is used.
        var y = e.Out.Span<T>();
        var dz = tape.TryTakeOutputBuffer(e.Out) ? y : tape.Scratch<T>(g.Length);
        var sums = tape.Scratch<T>(2 * cout);
        sums.Clear();
        var prologue = new ActivationPrologue<T>(dz, g, y, cout, args.Activation, sums);
        // The kernel's and bias's gradients are rented while g still holds its buffer: when they are intermediates
        // without a gradient yet, a rent after the release could hand them g's range and clear it before dz is made.
        var db = b.RequiresGrad ? tape.Grad<T>(b) : default;
        var dw = w.RequiresGrad ? tape.Grad<T>(w) : default;
        tape.ReleaseOutputGradient(e);   // x's gradient below can take its place
        bool fresh = false;
        var dx = x.RequiresGrad ? tape.GradToWrite<T>(x, out fresh) : default;
        if (!PrologueBlockwise(dx, g, x.Shape[1] * cin, geo.OutputLength * cout))
            prologue.PrepareAll(batch * geo.OutputLength);
        Conv1DKernels.Backward(x.Span<T>(), dz, w.Span<T>(), dx, x.RequiresGrad, fresh, dw, w.RequiresGrad, batch, cin, cout, geo, ref prologue);
        if (b.RequiresGrad) ActivationGradientKernels.AddColumnSums<T>(sums[..cout], sums[cout..], db);
    }

    /// <summary>
    /// Whether dz can be made block by block: dx (which may have taken the output gradient's buffer) never overwrites a
    /// row of g before a later block has read it, i.e. it does not overlap g or lies at or before it with items no longer
    /// than g's.
    /// </summary>
    internal static bool PrologueBlockwise<T>(ReadOnlySpan<T> dx, ReadOnlySpan<T> g, int dxItem, int gItem)
        => !dx.Overlaps(g, out int gOffset) || (gOffset >= 0 && dxItem <= gItem);

    /// <summary>dz = 0 + g ⊙ act'(y) (<see cref="BiasActivationOp.ActivationGradient{T}"/>'s bits) and the bias gradient's column sums, rows on request.</summary>
    private ref struct ActivationPrologue<T>(Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int cout, FusedActivation act, Span<T> sums)
        : IRowsPrologue where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> _dz = dz, _sums = sums;
        private readonly ReadOnlySpan<T> _g = g, _y = y;
        private bool _done;

        /// <summary>All rows now; later requests are then already done.</summary>
        public void PrepareAll(int rows)
        {
            Prepare(0, rows);
            _done = true;
        }

        public readonly void Prepare(int firstRow, int count)
        {
            if (_done)
                return;
            int o = firstRow * cout, n = count * cout;
            Span<T> dz = _dz.Slice(o, n), even = _sums[..cout], odd = _sums[cout..];
            ReadOnlySpan<T> g = _g.Slice(o, n), y = _y.Slice(o, n);
            switch (act)
            {
                case FusedActivation.Relu: ActivationGradientKernels.RowsWithColumnSums<T, Elementwise.ReluGrad<T>>(dz, g, y, firstRow, count, cout, even, odd); break;
                case FusedActivation.Tanh: ActivationGradientKernels.RowsWithColumnSums<T, Elementwise.TanhGrad<T>>(dz, g, y, firstRow, count, cout, even, odd); break;
                case FusedActivation.Sigmoid: ActivationGradientKernels.RowsWithColumnSums<T, Elementwise.SigmoidGrad<T>>(dz, g, y, firstRow, count, cout, even, odd); break;
                default: throw new ArgumentOutOfRangeException(nameof(act), act, "Conv1DBiasActivation: the linear activation has no derivative pass.");
            }
        }
    }
}
