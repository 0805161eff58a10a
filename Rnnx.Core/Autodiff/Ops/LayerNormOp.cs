using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
            T mean = RowSum(row) * invN;
            T r = T.One / T.Sqrt(RowSquaredDeviations(row, mean) * invN + eps);
            var y = ys.Slice(i * n, n);
            var h = xhat is null ? default : hs.Slice(i * n, n);
            // h = (x - mean) * r, y = gamma * h + beta, element by element as written (vector lanes where they fit)
            int j = 0;
            if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                Vector256<T> m = Vector256.Create(mean), rv = Vector256.Create(r);
                for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
                {
                    var hv = (Ld(row, j) - m) * rv;
                    if (xhat is not null) St(hv, h, j);
                    St(Ld(gs, j) * hv + Ld(bs, j), y, j);
                }
            }
            for (; j < n; j++)
            {
                T hj = (row[j] - mean) * r;
                if (xhat is not null) h[j] = hj;
                y[j] = gs[j] * hj + bs[j];
            }
            if (rs is not null) rr[i] = r;
        }
    }

    /// <summary>dgamma += dy ⊙ x̂ and dbeta += dy for one row, inline (rows are short: a call per row would cost more than the row).</summary>
    private static void AccumulateAffineGrads<T>(Span<T> dgam, Span<T> dbet, ReadOnlySpan<T> dy, ReadOnlySpan<T> h, bool wantGamma, bool wantBeta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = dy.Length, j = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
            {
                var d = Ld(dy, j);
                if (wantGamma) St(Ld(dgam, j) + d * Ld(h, j), dgam, j);
                if (wantBeta) St(Ld(dbet, j) + d, dbet, j);
            }
        }
        for (; j < n; j++)
        {
            if (wantGamma) dgam[j] += dy[j] * h[j];
            if (wantBeta) dbet[j] += dy[j];
        }
    }

    // Vector access at j for loops bounded by j + Count <= length (no slice, no bounds check per load)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Ld<T>(ReadOnlySpan<T> s, int j) => Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Ld<T>(Span<T> s, int j) => Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St<T>(Vector256<T> v, Span<T> s, int j) => v.StoreUnsafe(ref MemoryMarshal.GetReference(s), (nuint)j);

    /// <summary>Σ x: 256-bit lane sums (then across the lanes) where they fit, the rest in order.</summary>
    private static T RowSum<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T s = T.Zero;
        int j = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && x.Length >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            for (; j + Vector256<T>.Count <= x.Length; j += Vector256<T>.Count) acc += Ld(x, j);
            s = Vector256.Sum(acc);
        }
        for (; j < x.Length; j++) s += x[j];
        return s;
    }

    /// <summary>Σ (x - mean)², summed as <see cref="RowSum{T}"/>.</summary>
    private static T RowSquaredDeviations<T>(ReadOnlySpan<T> x, T mean) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T s = T.Zero;
        int j = 0;
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && x.Length >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            var m = Vector256.Create(mean);
            for (; j + Vector256<T>.Count <= x.Length; j += Vector256<T>.Count)
            {
                var c = Ld(x, j) - m;
                acc += c * c;
            }
            s = Vector256.Sum(acc);
        }
        for (; j < x.Length; j++) { T c = x[j] - mean; s += c * c; }
        return s;
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
            if (gamma.RequiresGrad || beta.RequiresGrad) AccumulateAffineGrads(dgam, dbet, dyr, hr, gamma.RequiresGrad, beta.RequiresGrad);
            if (!x.RequiresGrad) continue;
            T sg = T.Zero, sgh = T.Zero;
            int j = 0;
            if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported && n >= Vector256<T>.Count)
            {
                Vector256<T> ag = Vector256<T>.Zero, agh = Vector256<T>.Zero;
                for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
                {
                    var g = Ld(dyr, j) * Ld(gs, j);
                    ag += g;
                    agh += g * Ld(hr, j);
                }
                sg = Vector256.Sum(ag);
                sgh = Vector256.Sum(agh);
            }
            for (; j < n; j++)
            {
                T g = dyr[j] * gs[j];
                sg += g;
                sgh += g * hr[j];
            }
            T k = rr[i] / nT;
            var dxr = dxs.Slice(i * n, n);
            j = 0;
            if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            {
                Vector256<T> kv = Vector256.Create(k), nv = Vector256.Create(nT), sgv = Vector256.Create(sg), sghv = Vector256.Create(sgh);
                for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
                {
                    var d = Ld(dxr, j) + kv * (nv * Ld(dyr, j)
                        * Ld(gs, j) - sgv - Ld(hr, j) * sghv);
                    St(d, dxr, j);
                }
            }
            for (; j < n; j++) dxr[j] += k * (nT * dyr[j] * gs[j] - sg - hr[j] * sgh);
        }
    }
}
