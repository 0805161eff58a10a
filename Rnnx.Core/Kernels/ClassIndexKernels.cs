using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// Class-index helpers for classification losses and metrics, over rows of length n (row-major, last axis): one-hot
/// encoding, arg-max and the "in top k" test. None is differentiable; nothing allocates.
/// </summary>
public static class ClassIndexKernels
{
    /// <summary>
    /// dst (rows, depth) = one-hot of each index; returns −1 when every index is an integer in [0, depth), else the
    /// position of the first one that is not (dst is then partly written).
    /// </summary>
    public static int OneHot<T>(ReadOnlySpan<T> indices, Span<T> dst, int depth) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        dst.Slice(0, indices.Length * depth).Clear();
        for (int r = 0; r < indices.Length; r++)
        {
            T v = indices[r];
            if (!T.IsInteger(v) || v < T.Zero || v >= T.CreateTruncating(depth)) return r;
            dst[r * depth + int.CreateTruncating(v)] = T.One;
        }
        return -1;
    }

    /// <summary>dst[r] = the position of the largest value of row r (the first one on ties; NaN is never the largest).</summary>
    public static void ArgMax<T>(ReadOnlySpan<T> x, Span<T> dst, int rows, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * n, n);
            int best = 0;
            for (int k = 1; k < n; k++)
                if (row[k] > row[best] || T.IsNaN(row[best]) && !T.IsNaN(row[k])) best = k;
            dst[r] = T.CreateTruncating(best);
        }
    }

    /// <summary>
    /// dst[r] = 1 if class targets[r] is among the k largest values of row r, else 0. Ties at the boundary count as in
    /// (fewer than k values strictly larger), as TensorFlow's in_top_k; a non-finite target score or an index outside
    /// 0..n−1 gives 0.
    /// </summary>
    public static void InTopK<T>(ReadOnlySpan<T> predictions, ReadOnlySpan<T> targets, Span<T> dst, int rows, int n, int k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            T t = targets[r];
            if (!T.IsInteger(t) || t < T.Zero || t >= T.CreateTruncating(n)) { dst[r] = T.Zero; continue; }
            var row = predictions.Slice(r * n, n);
            T score = row[int.CreateTruncating(t)];
            if (!T.IsFinite(score)) { dst[r] = T.Zero; continue; }
            int larger = 0;
            foreach (var v in row) if (v > score) larger++;
            dst[r] = larger < k ? T.One : T.Zero;
        }
    }
}
