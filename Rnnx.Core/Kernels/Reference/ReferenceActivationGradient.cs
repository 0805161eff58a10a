using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>
/// Scalar oracle for <see cref="ActivationGradientKernels"/>: a whole (rows x cols) matrix at once, dz = 0 + f(g, y) and
/// bias[c] += (even rows' sum + odd rows' sum), each sum added in row order from zero.
/// </summary>
internal static class ReferenceActivationGradient
{
    /// <summary>f(g, y): g [y &gt; 0], g (1 − y²) or g y (1 − y).</summary>
    public enum Derivative { Relu, Tanh, Sigmoid }

    public static void WithBiasGradient<T>(Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int rows, int cols, Span<T> bias, Derivative f)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int c = 0; c < cols; c++)
        {
            T even = T.Zero, odd = T.Zero;
            for (int r = 0; r < rows; r++)
            {
                int i = r * cols + c;
                T v = f switch
                {
                    Derivative.Relu => y[i] > T.Zero ? g[i] : T.Zero,
                    Derivative.Tanh => g[i] * (T.One - y[i] * y[i]),
                    _ => g[i] * y[i] * (T.One - y[i]),
                };
                dz[i] = T.Zero + v;
                if (r % 2 == 0) even += dz[i];
                else odd += dz[i];
            }
            bias[c] += even + odd;
        }
    }
}
