using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Channels-last 1-D cross-correlation: x (batch, length, cin) with kernel (k, cin, cout), stride, dilation and
/// valid/same/causal padding (<see cref="Conv1DGeometry"/>). Backward: the input- and weight-gradient kernels.
/// </summary>
internal sealed class Conv1DOp : Op
{
    public static readonly Conv1DOp Instance = new();

    public override string Name => "Conv1D";

    public static Tensor Apply(Tensor x, Tensor kernel, int stride, int dilation, Conv1DPadding padding)
    {
        var dx = x.Data;
        var dw = kernel.Data;
        var g = Check("Conv1D", dx, dw, stride, dilation, padding);
        int batch = dx.Shape[0], cin = dx.Shape[2], cout = dw.Shape[2];
        var o = Tape.NewResult(new Shape(batch, g.OutputLength, cout), dx.DType);
        if (o.DType == DType.Float32) Conv1DKernels.Forward<float>(dx.Span<float>(), dw.Span<float>(), o.Span<float>(), batch, cin, cout, g);
        else Conv1DKernels.Forward<double>(dx.Span<double>(), dw.Span<double>(), o.Span<double>(), batch, cin, cout, g);
        var tape = Tape.Recorder(dx, dw);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = dx;
            e.B = dw;
            e.SetArgs(new Args(stride, dilation, padding));
        }
        return new Tensor(o);
    }

    /// <summary>Checks a convolution's arguments (errors name <paramref name="op"/>) and returns its geometry.</summary>
    internal static Conv1DGeometry Check(string op, TensorData dx, TensorData dw, int stride, int dilation, Conv1DPadding padding)
    {
        if (dx.DType != dw.DType)
            throw new ArgumentException($"{op}: dtypes differ, input {dx.DType} and kernel {dw.DType}.");
        if (dx.Shape.Rank != 3)
            throw new ShapeMismatchException($"{op}: input must be (batch, length, channels), got {dx.Shape}.");
        if (dw.Shape.Rank != 3)
            throw new ShapeMismatchException($"{op}: kernel must be (kernel_size, in_channels, filters), got {dw.Shape}.");
        if (dw.Shape[1] != dx.Shape[2])
            throw new ShapeMismatchException($"{op}: input {dx.Shape} has {dx.Shape[2]} channels but kernel {dw.Shape} expects {dw.Shape[1]}.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be at least 1, got {stride}.");
        if (dilation < 1) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be at least 1, got {dilation}.");
        return Conv1DGeometry.Create(dx.Shape[1], dw.Shape[0], stride, dilation, padding);
    }

    /// <summary>The arguments kept for backward.</summary>
    private readonly record struct Args(int Stride, int Dilation, Conv1DPadding Padding);

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData x = e.A!, w = e.B!;
        int batch = x.Shape[0], cin = x.Shape[2], cout = w.Shape[2];
        var args = e.GetArgs<Args>();
        var geo = Conv1DGeometry.Create(x.Shape[1], w.Shape[0], args.Stride, args.Dilation, args.Padding);
        var g = tape.GradOf<T>(e.Out);
        if (x.RequiresGrad) InputGradient(tape, x, g, w.Span<T>(), batch, cin, cout, geo);
        if (w.RequiresGrad) Conv1DKernels.BackwardWeight<T>(x.Span<T>(), g, tape.Grad<T>(w), batch, cin, cout, geo);
    }

    /// <summary>Adds d/dx of sum(y .* dy) into x's gradient; a first gradient is written whole by the kernel (the bits of adding into zeros) instead of zeroed first.</summary>
    internal static void InputGradient<T>(Tape tape, TensorData x, ReadOnlySpan<T> dy, ReadOnlySpan<T> w, int batch, int cin, int cout,
        in Conv1DGeometry geo)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradToWrite<T>(x, out bool fresh);
        Conv1DKernels.BackwardInput(dy, w, dx, batch, cin, cout, geo, overwrite: fresh);
    }
}
