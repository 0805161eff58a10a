using System.Numerics;
using System.Runtime.CompilerServices;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Kernels;

/// <summary>
/// Element-wise kernels over spans. Thin wrappers over <see cref="TP"/> (already vectorized for every width and
/// tested by the runtime) plus the few fused maps it lacks. Span in, span out; nothing allocates.
/// </summary>
public static class Elementwise
{
    /// <summary>dst[i] += src[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddInPlace<T>(Span<T> dst, ReadOnlySpan<T> src) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TP.Add(dst, src, dst);

    /// <summary>dst[i] += scale * src[i].</summary>
    public static void AddScaledInPlace<T>(Span<T> dst, ReadOnlySpan<T> src, T scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TP.MultiplyAdd(src, scale, dst, dst);

    /// <summary>dst[i] += a[i] * b[i].</summary>
    public static void MultiplyAddInPlace<T>(Span<T> dst, ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TP.MultiplyAdd(a, b, dst, dst);

    /// <summary>dst[i] += g[i] * (1 - y[i]^2): the tanh backward written in terms of the output y.</summary>
    public static void TanhBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] += g[i] * (T.One - y[i] * y[i]);
    }

    /// <summary>dst[i] += g[i] * y[i] * (1 - y[i]): the sigmoid backward in terms of the output y.</summary>
    public static void SigmoidBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) dst[i] += g[i] * y[i] * (T.One - y[i]);
    }

    /// <summary>dst[i] += y[i] &gt; 0 ? g[i] : 0: the ReLU backward (derivative 0 at 0, as TF) in terms of the output y.</summary>
    public static void ReluBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < dst.Length; i++) if (y[i] > T.Zero) dst[i] += g[i];
    }

    /// <summary>y[i] = max(x[i], 0).</summary>
    public static void Relu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TP.Max(x, T.Zero, y);

    /// <summary>y = tanh(x).</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Tanh(x, y);

    /// <summary>y = 1 / (1 + exp(-x)).</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Sigmoid(x, y);

    /// <summary>y = exp(x).</summary>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Exp(x, y);

    /// <summary>y = ln(x).</summary>
    public static void Log<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Log(x, y);

    /// <summary>y = sqrt(x).</summary>
    public static void Sqrt<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Sqrt(x, y);

    /// <summary>y = x * x.</summary>
    public static void Square<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Multiply(x, x, y);

    /// <summary>y = -x.</summary>
    public static void Negate<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T> => TP.Negate(x, y);
}
