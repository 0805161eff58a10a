namespace Rnnx.Kernels.Reference;

/// <summary>Column-by-column Householder QR: the test oracle for <see cref="HouseholderKernels"/> (same signature and semantics).</summary>
internal static class ReferenceHouseholder
{
    public static void ThinQ(Span<double> a, int m, int n, Span<double> q)
    {
        var vs = new double[n][];
        for (int k = 0; k < n; k++)
        {
            var v = new double[m];
            vs[k] = v;
            double below = 0;
            for (int i = k + 1; i < m; i++) below += a[i * n + k] * a[i * n + k];
            if (below == 0) continue;
            double norm = Math.Sqrt(below + a[k * n + k] * a[k * n + k]);
            double alpha = a[k * n + k] >= 0 ? -norm : norm;
            for (int i = k; i < m; i++) v[i] = a[i * n + k];
            v[k] -= alpha;
            double vn = 0;
            for (int i = k; i < m; i++) vn += v[i] * v[i];
            if (vn > 0)
            {
                for (int j = k; j < n; j++)
                {
                    double s = 0;
                    for (int i = k; i < m; i++) s += v[i] * a[i * n + j];
                    s = 2 * s / vn;
                    for (int i = k; i < m; i++) a[i * n + j] -= s * v[i];
                }
            }
        }
        q[..(m * n)].Clear();
        for (int j = 0; j < n; j++) q[j * n + j] = 1;
        for (int k = n - 1; k >= 0; k--)
        {
            var v = vs[k];
            double vn = 0;
            for (int i = k; i < m; i++) vn += v[i] * v[i];
            if (vn == 0) continue;
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int i = k; i < m; i++) s += v[i] * q[i * n + j];
                s = 2 * s / vn;
                for (int i = k; i < m; i++) q[i * n + j] -= s * v[i];
            }
        }
        for (int j = 0; j < n; j++)
        {
            double sign = Math.Sign(a[j * n + j]);
            for (int i = 0; i < m; i++) q[i * n + j] *= sign;
        }
    }
}
