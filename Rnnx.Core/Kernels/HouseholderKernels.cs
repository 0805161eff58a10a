using System.Numerics;
using System.Runtime.InteropServices;

namespace Rnnx.Kernels;

/// <summary>
/// Householder QR for the orthogonal initializer (Keras's <c>Orthogonal</c>: numpy's <c>qr</c> of a normal draw). The
/// reflections are applied row by row across the columns they touch: for reflection k, s_j = Σ_{i ≥ k} v_i·a_ij for
/// every column j at once (i ascending, so each s_j is the same chain of multiplies and adds as the column-by-column
/// loop of <see cref="Reference.ReferenceHouseholder"/>, vectorized across j), then a_ij −= (2·s_j / ‖v‖²)·v_i. The
/// column-by-column loop walked a column of a row-major matrix, one cache line (and, past 512 columns, one page) per
/// element: an LSTM(512)'s 512 x 2048 recurrent kernel took about 12 s to initialize, this about 0.5 s, the same bits.
/// </summary>
public static class HouseholderKernels
{
    /// <summary>
    /// The thin Q (m, n) of the (m, n) matrix <paramref name="a"/> (row-major, m ≥ n; overwritten by R's working copy),
    /// each column j multiplied by sign(R[j, j]) so that R's diagonal is non-negative (a column whose R[j, j] is 0 is
    /// zeroed, as <c>Math.Sign</c> gives). A column with nothing below its diagonal is not reflected (LAPACK's
    /// <c>dlarfg</c> uses τ = 0 there), so a 1 x 1 draw gives ±1 exactly.
    /// </summary>
    /// <exception cref="ArgumentException">m &lt; n, or a span shorter than m·n.</exception>
    public static void ThinQ(Span<double> a, int m, int n, Span<double> q)
    {
        if (n < 0 || m < n) throw new ArgumentException($"ThinQ needs m >= n >= 0 (got m = {m}, n = {n}).");
        long size = (long)m * n;
        if (a.Length < size || q.Length < size) throw new ArgumentException($"ThinQ: spans of {a.Length} and {q.Length} values for a {m} x {n} matrix.");
        var vs = new double[(long)n * m];   // row k: reflection k's v (zeros above k), or all zeros when it is skipped
        var s = new double[n];
        for (int k = 0; k < n; k++)
        {
            double below = 0;
            for (int i = k + 1; i < m; i++) below += a[i * n + k] * a[i * n + k];
            if (below == 0) continue;
            double norm = Math.Sqrt(below + a[k * n + k] * a[k * n + k]);
            double alpha = a[k * n + k] >= 0 ? -norm : norm;
            var v = vs.AsSpan(k * m, m);
            for (int i = k; i < m; i++) v[i] = a[i * n + k];
            v[k] -= alpha;
            double vn = 0;
            for (int i = k; i < m; i++) vn += v[i] * v[i];
            if (vn > 0) Reflect(a, m, n, k, k, v, vn, s);
        }
        // Q = H0 H1 ... H(n-1) applied to the first n columns of I
        q[..(int)size].Clear();
        for (int j = 0; j < n; j++) q[j * n + j] = 1;
        for (int k = n - 1; k >= 0; k--)
        {
            var v = vs.AsSpan(k * m, m);
            double vn = 0;
            for (int i = k; i < m; i++) vn += v[i] * v[i];
            if (vn == 0) continue;
            Reflect(q, m, n, k, 0, v, vn, s);
        }
        for (int j = 0; j < n; j++)
        {
            double sign = Math.Sign(a[j * n + j]);
            for (int i = 0; i < m; i++) q[i * n + j] *= sign;
        }
    }

    /// <summary>
    /// Rows k.. of columns j0.. of the (m, n) matrix <paramref name="x"/> minus (2·s_j / vn)·v_i, s_j = Σ_{i ≥ k} v_i·x_ij
    /// (summed in i order from 0, a multiply then an add per term, as the scalar loop).
    /// </summary>
    private static void Reflect(Span<double> x, int m, int n, int k, int j0, ReadOnlySpan<double> v, double vn, Span<double> s)
    {
        int width = n - j0;
        var sums = s[..width];
        sums.Clear();
        for (int i = k; i < m; i++) MultiplyAdd(sums, x.Slice(i * n + j0, width), v[i]);
        for (int j = 0; j < width; j++) sums[j] = 2 * sums[j] / vn;
        for (int i = k; i < m; i++) SubtractScaled(x.Slice(i * n + j0, width), sums, v[i]);
    }

    /// <summary>sums_j = sums_j + vi·row_j (a rounded multiply, then a rounded add: never fused).</summary>
    private static void MultiplyAdd(Span<double> sums, ReadOnlySpan<double> row, double vi)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && sums.Length >= Vector<double>.Count)
        {
            var vv = new Vector<double>(vi);
            var sv = MemoryMarshal.Cast<double, Vector<double>>(sums);
            var rv = MemoryMarshal.Cast<double, Vector<double>>(row);
            for (int b = 0; b < sv.Length; b++) sv[b] += vv * rv[b];
            j = sv.Length * Vector<double>.Count;
        }
        for (; j < sums.Length; j++) sums[j] += vi * row[j];
    }

    /// <summary>row_j = row_j − scale_j·vi (rounded multiply, then rounded subtract).</summary>
    private static void SubtractScaled(Span<double> row, ReadOnlySpan<double> scale, double vi)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && row.Length >= Vector<double>.Count)
        {
            var vv = new Vector<double>(vi);
            var rv = MemoryMarshal.Cast<double, Vector<double>>(row);
            var cv = MemoryMarshal.Cast<double, Vector<double>>(scale);
            for (int b = 0; b < rv.Length; b++) rv[b] -= cv[b] * vv;
            j = rv.Length * Vector<double>.Count;
        }
        for (; j < row.Length; j++) row[j] -= scale[j] * vi;
    }
}
