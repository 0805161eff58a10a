using System.Diagnostics;
using System.Numerics;
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

    private static void Map<T, V>(ref T x, ref T y, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int j = j0; j < j1; j += V.Count) V.Store(V.Tanh(V.Load(ref x, j)), ref y, j);
    }
}
