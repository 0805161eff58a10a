using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>Scalar oracles for the activation-backward kernels in <see cref="Elementwise"/> (accumulating and overwriting).</summary>
internal static class ReferenceElementwise
{
    public static void TanhBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] += g[i] * (T.One - y[i] * y[i]);
    }

    public static void SigmoidBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] += g[i] * y[i] * (T.One - y[i]);
    }

    public static void ReluBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) if (y[i] > T.Zero) dst[i] += g[i];
    }

    public static void TanhBackward<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = T.Zero + g[i] * (T.One - y[i] * y[i]);
    }

    public static void SigmoidBackward<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = T.Zero + g[i] * y[i] * (T.One - y[i]);
    }

    public static void ReluBackward<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = T.Zero + (y[i] > T.Zero ? g[i] : T.Zero);
    }
}
