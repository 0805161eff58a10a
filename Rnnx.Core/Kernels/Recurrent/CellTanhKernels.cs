using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Kernels;

/// <summary>
/// y = tanh(x) element by element with the recurrent step kernels' tanh (<see cref="ISimdMath{TSelf, T}.Tanh"/>: for float
/// <see cref="FastMath"/>'s one body at every vector width), so it reproduces bit for bit the tanh(c) an LSTM step
/// computes from the c it stores: the LSTM backward recomputes tanh(C) with it instead of keeping it from the forward pass.
/// </summary>
internal static class CellTanhKernels
{
    /// <summary>y[i] = tanh(x[i]) for i &lt; x.Length (y may be x).</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(y.Length >= x.Length);
        int n = x.Length;
        if (n == 0) return;
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(n);
            ref float px = ref FirstAs<T, float>(x);
            ref float py = ref FirstAs<T, float>(y);
            Map<float, Simd256<float>>(ref px, ref py, 0, j8);
            Map<float, Simd128<float>>(ref px, ref py, j8, j4);
            Map<float, Scalar<float>>(ref px, ref py, j4, n);
        }
        else Map<double, Scalar<double>>(ref FirstAs<T, double>(x), ref FirstAs<T, double>(y), 0, n);
    }

    /// <summary>
    /// x ← tanh(x) in place over <paramref name="rows"/> rows of <paramref name="n"/> elements, row r starting at r ·
    /// <paramref name="ld"/> (one processing step's cells of every series in a (B, T, U) sequence); elements between the
    /// rows are not touched. The same bits as <see cref="Tanh"/> on each row.
    /// </summary>
    public static void TanhRowsInPlace<T>(Span<T> x, int rows, int n, int ld) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows <= 0 || n <= 0) return;
        if ((long)(rows - 1) * ld + n > x.Length || ld < n) throw new ArgumentException($"TanhRowsInPlace: {rows} rows of {n} at stride {ld} exceed {x.Length} elements.", nameof(x));
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(n);
            ref float p = ref FirstAs<T, float>(x);
            for (int r = 0; r < rows; r++)
            {
                ref float row = ref Unsafe.Add(ref p, r * ld);
                Map<float, Simd256<float>>(ref row, ref row, 0, j8);
                Map<float, Simd128<float>>(ref row, ref row, j8, j4);
                Map<float, Scalar<float>>(ref row, ref row, j4, n);
            }
        }
        else
        {
            ref double p = ref FirstAs<T, double>(x);
            for (int r = 0; r < rows; r++)
            {
                ref double row = ref Unsafe.Add(ref p, r * ld);
                Map<double, Scalar<double>>(ref row, ref row, 0, n);
            }
        }
    }

    private static void Map<T, V>(ref T x, ref T y, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int j = j0; j < j1; j += V.Count) V.Store(V.Tanh(V.Load(ref x, j)), ref y, j);
    }
}
