using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// 1-D max / average pooling on (batch, length, channels) (<see cref="Tensor.MaxPool1D"/>, <see cref="Tensor.AveragePool1D"/>)
/// with TensorFlow's valid/same geometry (<see cref="Conv1DGeometry"/>, dilation 1); padding never takes part.
/// Backward (<see cref="PoolingKernels.BackwardAccumulate{T}"/>): max routes g to the window's first maximum, recomputed
/// from the input and output; average spreads g over the window's real rows.
/// </summary>
internal sealed class Pool1DOp : Op
{
    public static readonly Pool1DOp Max = new(max: true);
    public static readonly Pool1DOp Average = new(max: false);

    private readonly bool _max;

    private Pool1DOp(bool max) => _max = max;

    public override string Name => _max ? "MaxPool1D" : "AveragePool1D";

    /// <summary>The input and window arguments as kept for backward.</summary>
    private readonly struct Saved
    {
        public TensorData X { get; init; }
        public int PoolSize { get; init; }
        public int Stride { get; init; }
        public Conv1DPadding Padding { get; init; }

        public void Record(Tape tape, Pool1DOp op, TensorData output)
        {
            ref var e = ref tape.Record(op, output);
            e.A = X;
            e.SetArgs(new Args(PoolSize, Stride, Padding));
        }

        public static Saved Of(in TapeEntry e)
        {
            var a = e.GetArgs<Args>();
            return new() { X = e.A!, PoolSize = a.PoolSize, Stride = a.Stride, Padding = a.Padding };
        }

        public Conv1DGeometry Geometry => Conv1DGeometry.Create(X.Shape[1], PoolSize, Stride, 1, Padding);
    }

    private readonly record struct Args(int PoolSize, int Stride, Conv1DPadding Padding);

    public Tensor Apply(Tensor x, int poolSize, int stride, Conv1DPadding padding)
    {
        var dx = x.Data;
        if (dx.Shape.Rank != 3) throw new ShapeMismatchException($"{Name}: input must be (batch, length, channels), got {dx.Shape}.");
        if (poolSize < 1) throw new ArgumentOutOfRangeException(nameof(poolSize), poolSize, $"{Name}: pool size must be at least 1.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{Name}: stride must be at least 1.");
        if (padding is not (Conv1DPadding.Valid or Conv1DPadding.Same))
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{Name}: padding must be valid or same.");
        if (padding == Conv1DPadding.Valid && poolSize > dx.Shape[1])
            throw new ShapeMismatchException($"{Name}: pool size {poolSize} is longer than the input {dx.Shape} with 'valid' padding.");
        var s = new Saved { X = dx, PoolSize = poolSize, Stride = stride, Padding = padding };
        var geo = s.Geometry;
        int batch = dx.Shape[0], channels = dx.Shape[2];
        var o = Tape.NewResult(new Shape(batch, geo.OutputLength, channels), dx.DType);
        if (o.DType == DType.Float32) PoolingKernels.Forward(dx.Span<float>(), o.Span<float>(), batch, channels, geo, _max);
        else PoolingKernels.Forward(dx.Span<double>(), o.Span<double>(), batch, channels, geo, _max);
        var tape = Tape.Recorder(dx);
        if (tape is not null) s.Record(tape, this, o);
        return new Tensor(o);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = Saved.Of(e);
        if (!s.X.RequiresGrad) return;
        PoolingKernels.BackwardAccumulate(s.X.Span<T>(), e.Out.Span<T>(), tape.GradOf<T>(e.Out), tape.Grad<T>(s.X),
            s.X.Shape[0], s.X.Shape[2], s.Geometry, _max);
    }
}
