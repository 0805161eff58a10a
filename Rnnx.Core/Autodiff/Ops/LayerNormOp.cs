using System.Numerics;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Fused layer normalization over the last axis (length N): y = gamma * (x - mean) * r + beta with
/// r = 1/sqrt(var + eps), var the biased variance. Saves x̂ and r. Backward (g = dy * gamma):
/// dx = (r/N) (N g - Σg - x̂ Σ(g x̂)), dgamma = Σ_rows dy x̂, dbeta = Σ_rows dy.
/// </summary>
internal sealed class LayerNormOp : Op
{
    public static readonly LayerNormOp Instance = new();

    public override string Name => "LayerNorm";

    public static Tensor Apply(Tensor x, Tensor gamma, Tensor beta, double epsilon)
    {
        var dx = x.Data;
        var dg = gamma.Data;
        var db = beta.Data;
        if (dx.Shape.Rank < 1) throw new ShapeMismatchException($"LayerNorm: input must have rank 1 or more, got {dx.Shape}.");
        int n = dx.Shape.Last;
        if (dg.Shape.Rank != 1 || dg.Shape[0] != n || db.Shape != dg.Shape)
            throw new ShapeMismatchException($"LayerNorm: gamma {dg.Shape} and beta {db.Shape} must both be ({n},) for input {dx.Shape}.");
        if (dg.DType != dx.DType || db.DType != dx.DType)
            throw new ArgumentException($"LayerNorm: dtypes differ (input {dx.DType}, gamma {dg.DType}, beta {db.DType}).");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"LayerNorm: epsilon must be positive, got {epsilon}.");
        int rows = dx.Length / n;
        var o = Tape.NewResult(dx.Shape, dx.DType);
        var tape = Tape.Recorder(dx, dg, db);
        TensorData? xhat = null, r = null;
        if (tape is not null)
        {
            xhat = tape.NewData(dx.Shape, dx.DType);
            r = tape.NewData(new Shape(rows), dx.DType);
        }
        if (o.DType == DType.Float32) Forward<float>(dx, dg, db, o, xhat, r, rows, n, (float)epsilon);
        else Forward<double>(dx, dg, db, o, xhat, r, rows, n, epsilon);
        if (tape is not null)
        {
            ref var e = ref tape.Record(Instance, o);
            e.A = dx;
            e.B = dg;
            e.C = db;
            e.S0 = xhat;
            e.S1 = r;
        }
        return new Tensor(o);
    }

    private static void Forward<T>(TensorData x, TensorData gamma, TensorData beta, TensorData o, TensorData? xhat, TensorData? rs, int rows, int n, T eps)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var xs = x.Span<T>();
        var ys = o.Span<T>();
        var gs = gamma.Span<T>();
        var bs = beta.Span<T>();
        var hs = xhat is null ? default : xhat.Span<T>();
        var rr = rs is null ? default : rs.Span<T>();
        T invN = T.One / T.CreateChecked(n);
        for (int i = 0; i < rows; i++)
        {
            var row = xs.Slice(i * n, n);
            T mean = System.Numerics.Tensors.TensorPrimitives.Sum(row) * invN;
            T v = T.Zero;
            for (int j = 0; j < n; j++) { T c = row[j] - mean; v += c * c; }
            T r = T.One / T.Sqrt(v * invN + eps);
            var y = ys.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                T h = (row[j] - mean) * r;
                if (xhat is not null) hs[i * n + j] = h;
                y[j] = gs[j] * h + bs[j];
            }
            if (rs is not null) rr[i] = r;
        }
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData x = e.A!, gamma = e.B!, beta = e.C!;
        int n = x.Shape.Last, rows = x.Length / n;
        var dy = tape.GradOf<T>(e.Out);
        var h = e.S0!.Span<T>();
        var rr = e.S1!.Span<T>();
        var gs = gamma.Span<T>();
        var dgam = gamma.RequiresGrad ? tape.Grad<T>(gamma) : default;
        var dbet = beta.RequiresGrad ? tape.Grad<T>(beta) : default;
        var dxs = x.RequiresGrad ? tape.Grad<T>(x) : default;
        T nT = T.CreateChecked(n);
        for (int i = 0; i < rows; i++)
        {
            var dyr = dy.Slice(i * n, n);
            var hr = h.Slice(i * n, n);
            if (gamma.RequiresGrad) Kernels.Elementwise.MultiplyAddInPlace(dgam, dyr, hr);
            if (beta.RequiresGrad) Kernels.Elementwise.AddInPlace(dbet, dyr);
            if (!x.RequiresGrad) continue;
            T sg = T.Zero, sgh = T.Zero;
            for (int j = 0; j < n; j++)
            {
                T g = dyr[j] * gs[j];
                sg += g;
                sgh += g * hr[j];
            }
            T k = rr[i] / nT;
            var dxr = dxs.Slice(i * n, n);
            for (int j = 0; j < n; j++) dxr[j] += k * (nT * dyr[j] * gs[j] - sg - hr[j] * sgh);
        }
    }
}
