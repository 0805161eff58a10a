using Rnnx.Kernels;

namespace Rnnx;

public readonly partial struct Tensor
{
    // ------------------------------------------------------------ class indices and comparisons (not differentiable)

    /// <summary>
    /// One-hot encoding: indices (...) holding class numbers 0..depth−1 → (..., depth) of 0 and 1, same dtype (Keras
    /// <c>ops.one_hot</c>). The result does not require a gradient.
    /// </summary>
    /// <exception cref="ArgumentException">depth &lt; 1, or an index that is not an integer in [0, depth), named with its position.</exception>
    public static Tensor OneHot(Tensor indices, int depth)
    {
        if (depth < 1) throw new ArgumentException($"OneHot: depth must be at least 1, got {depth}.", nameof(depth));
        var d = indices.Data;
        if (d.Shape.Rank >= Shape.MaxRank) throw new ShapeMismatchException($"OneHot: indices {d.Shape} leave no room for the class axis (rank limit {Shape.MaxRank}).");
        Span<int> dims = stackalloc int[d.Shape.Rank + 1];
        for (int i = 0; i < d.Shape.Rank; i++) dims[i] = d.Shape[i];
        dims[d.Shape.Rank] = depth;
        var o = Tape.NewResult(new Shape(dims), d.DType);
        int bad = d.DType == DType.Float32
            ? ClassIndexKernels.OneHot(d.Span<float>(), o.Span<float>(), depth)
            : ClassIndexKernels.OneHot(d.Span<double>(), o.Span<double>(), depth);
        if (bad >= 0)
            throw new ArgumentException($"OneHot: class index {indices.GetValue(bad)} at position {bad} of {d.Shape} is not an integer in [0, {depth}).", nameof(indices));
        return new Tensor(o);
    }

    /// <summary>The position of the largest value along the last axis (the first on ties), as a tensor of x's dtype with the last axis removed.</summary>
    /// <exception cref="ShapeMismatchException">x is a scalar or its last axis is empty.</exception>
    public static Tensor ArgMax(Tensor x)
    {
        var d = x.Data;
        if (d.Shape.Rank == 0 || d.Shape.Last == 0) throw new ShapeMismatchException($"ArgMax: needs a non-empty last axis, got {d.Shape}.");
        int n = d.Shape.Last, rows = d.Length / n;
        var o = Tape.NewResult(d.Shape.Remove(-1), d.DType);
        if (d.DType == DType.Float32) ClassIndexKernels.ArgMax(d.Span<float>(), o.Span<float>(), rows, n);
        else ClassIndexKernels.ArgMax(d.Span<double>(), o.Span<double>(), rows, n);
        return new Tensor(o);
    }

    /// <summary>
    /// 1 where class <paramref name="classIndices"/>[...] is among the <paramref name="k"/> largest values of
    /// <paramref name="predictions"/>[..., :], else 0 (TensorFlow's <c>in_top_k</c>: ties at the boundary count as in).
    /// </summary>
    /// <exception cref="ShapeMismatchException">classIndices is not predictions' shape without the last axis, or dtypes differ.</exception>
    /// <exception cref="ArgumentException">k &lt; 1.</exception>
    public static Tensor InTopK(Tensor predictions, Tensor classIndices, int k)
    {
        if (k < 1) throw new ArgumentException($"InTopK: k must be at least 1, got {k}.", nameof(k));
        var p = predictions.Data;
        var t = classIndices.Data;
        if (p.Shape.Rank == 0 || t.Shape != p.Shape.Remove(-1) || p.DType != t.DType)
            throw new ShapeMismatchException($"InTopK: class indices {t.Shape} {t.DType} must be predictions {p.Shape} {p.DType} without the last axis.");
        int n = p.Shape.Last, rows = t.Length;
        var o = Tape.NewResult(t.Shape, p.DType);
        if (p.DType == DType.Float32) ClassIndexKernels.InTopK(p.Span<float>(), t.Span<float>(), o.Span<float>(), rows, n, k);
        else ClassIndexKernels.InTopK(p.Span<double>(), t.Span<double>(), o.Span<double>(), rows, n, k);
        return new Tensor(o);
    }

    /// <summary>1 where a = b, else 0 (same shape and dtype); not differentiable.</summary>
    /// <exception cref="ShapeMismatchException">Shapes or dtypes differ.</exception>
    public static Tensor EqualMask(Tensor a, Tensor b)
    {
        var da = a.Data;
        var db = b.Data;
        if (da.Shape != db.Shape || da.DType != db.DType)
            throw new ShapeMismatchException($"EqualMask: {da.Shape} {da.DType} and {db.Shape} {db.DType} differ.");
        var o = Tape.NewResult(da.Shape, da.DType);
        if (da.DType == DType.Float32)
        {
            ReadOnlySpan<float> x = da.Span<float>(), y = db.Span<float>();
            var r = o.Span<float>();
            for (int i = 0; i < r.Length; i++) r[i] = x[i] == y[i] ? 1f : 0f;
        }
        else
        {
            ReadOnlySpan<double> x = da.Span<double>(), y = db.Span<double>();
            var r = o.Span<double>();
            for (int i = 0; i < r.Length; i++) r[i] = x[i] == y[i] ? 1.0 : 0.0;
        }
        return new Tensor(o);
    }

    /// <summary>1 where x &gt; threshold, else 0; not differentiable.</summary>
    public static Tensor GreaterMask(Tensor x, double threshold)
    {
        var d = x.Data;
        var o = Tape.NewResult(d.Shape, d.DType);
        if (d.DType == DType.Float32)
        {
            ReadOnlySpan<float> s = d.Span<float>();
            var r = o.Span<float>();
            float th = (float)threshold;
            for (int i = 0; i < r.Length; i++) r[i] = s[i] > th ? 1f : 0f;
        }
        else
        {
            ReadOnlySpan<double> s = d.Span<double>();
            var r = o.Span<double>();
            for (int i = 0; i < r.Length; i++) r[i] = s[i] > threshold ? 1.0 : 0.0;
        }
        return new Tensor(o);
    }
}
