using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Matrix product on the last two axes. Three forms:
/// (m, k) x (k, n); (..., m, k) x (k, n) — the left operand's leading axes are flattened into rows, as a Dense
/// layer on a sequence; and (b..., m, k) x (b..., k, n) with identical batch axes (batched).
/// Backward: dA = g B^T, dB = A^T g (transposed GEMM kernels, no materialized transposes).
/// </summary>
internal sealed class MatMulOp : Op
{
    public static readonly MatMulOp Instance = new();

    public override string Name => "MatMul";

    public static Tensor Apply(Tensor a, Tensor b)
    {
        var da = a.Data;
        var db = b.Data;
        Shape sa = da.Shape, sb = db.Shape;
        if (da.DType != db.DType)
            throw new ArgumentException($"MatMul: dtypes differ, {da.DType} {sa} x {db.DType} {sb}.");
        if (sa.Rank < 2 || sb.Rank < 2)
            throw new ShapeMismatchException($"MatMul: both operands need rank 2 or more, got {sa} x {sb}.");
        int m = sa[-2], k = sa[-1], n = sb[-1];
        if (sb[-2] != k)
            throw new ShapeMismatchException($"MatMul: inner dimensions differ, {sa} x {sb}.");
        int batch;
        if (sb.Rank == 2) batch = 0;   // flatten the left operand's leading axes
        else
        {
            if (sa.Rank != sb.Rank)
                throw new ShapeMismatchException($"MatMul: batched operands need the same rank, {sa} x {sb}.");
            for (int i = 0; i < sa.Rank - 2; i++)
                if (sa[i] != sb[i])
                    throw new ShapeMismatchException($"MatMul: batch dimensions differ, {sa} x {sb}.");
            batch = sa.Product(0, sa.Rank - 2);
        }
        var outShape = sa.With(-1, n);
        var o = Tape.NewResult(outShape, da.DType);
        if (o.DType == DType.Float32) Forward<float>(da, db, o, batch, m, k, n);
        else Forward<double>(da, db, o, batch, m, k, n);
        var tape = Tape.Recorder(da, db);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = da;
            e.B = db;
            e.SetArgs(new Dims(batch, m, k, n));
        }
        return new Tensor(o);
    }

    private static void Forward<T>(TensorData a, TensorData b, TensorData o, int batch, int m, int k, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var sa = a.Span<T>();
        var sb = b.Span<T>();
        var so = o.Span<T>();
        if (batch == 0)
        {
            int rows = a.Length / k;
            MatMulKernels.MatMul<T>(sa, sb, so, rows, k, n);
            return;
        }
        for (int i = 0; i < batch; i++)
            MatMulKernels.MatMul<T>(sa.Slice(i * m * k, m * k), sb.Slice(i * k * n, k * n), so.Slice(i * m * n, m * n), m, k, n);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    /// <summary>The product's dimensions (batch = 0 for an unbatched product): (batch x) (m x k) times (k x n).</summary>
    private readonly record struct Dims(int Batch, int M, int K, int N);

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData a = e.A!, b = e.B!;
        var (batch, m, k, n) = e.GetArgs<Dims>();
        var g = tape.GradOf<T>(e.Out);
        if (batch == 0)
        {
            int rows = a.Length / k;
            if (a.RequiresGrad) MatMulKernels.MatMulTransB<T>(g, b.Span<T>(), tape.Grad<T>(a), rows, n, k, accumulate: true); // dA = g B^T
            if (b.RequiresGrad) MatMulKernels.MatMulTransA<T>(a.Span<T>(), g, tape.Grad<T>(b), k, rows, n, accumulate: true); // dB = A^T g
            return;
        }
        var ga = a.RequiresGrad ? tape.Grad<T>(a) : default;
        var gb = b.RequiresGrad ? tape.Grad<T>(b) : default;
        for (int i = 0; i < batch; i++)
        {
            var gi = g.Slice(i * m * n, m * n);
            if (a.RequiresGrad) MatMulKernels.MatMulTransB<T>(gi, b.Span<T>().Slice(i * k * n, k * n), ga.Slice(i * m * k, m * k), m, n, k, accumulate: true);
            if (b.RequiresGrad) MatMulKernels.MatMulTransA<T>(a.Span<T>().Slice(i * m * k, m * k), gi, gb.Slice(i * k * n, k * n), k, m, n, accumulate: true);
        }
    }
}
