using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;
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
        => Ternary<T, TanhGrad<T>>(dst, g, y);

    /// <summary>dst[i] += g[i] * y[i] * (1 - y[i]): the sigmoid backward in terms of the output y.</summary>
    public static void SigmoidBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Ternary<T, SigmoidGrad<T>>(dst, g, y);

    /// <summary>dst[i] += y[i] &gt; 0 ? g[i] : 0: the ReLU backward (derivative 0 at 0, as TF) in terms of the output y.</summary>
    public static void ReluBackwardAccumulate<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Ternary<T, ReluGrad<T>>(dst, g, y);

    /// <summary>
    /// dst[i] = 0 + g[i] * (1 - y[i]^2): <see cref="TanhBackwardAccumulate"/> into a zeroed buffer, the same bits, without
    /// zeroing one. <paramref name="dst"/> may be <paramref name="y"/> (each element is read before it is written).
    /// </summary>
    public static void TanhBackward<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TernaryOverwrite<T, TanhGrad<T>>(dst, g, y);

    /// <summary>
    /// dst[i] = 0 + g[i] * y[i] * (1 - y[i]): <see cref="SigmoidBackwardAccumulate"/> into a zeroed buffer, the same bits.
    /// <paramref name="dst"/> may be <paramref name="y"/>.
    /// </summary>
    public static void SigmoidBackward<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TernaryOverwrite<T, SigmoidGrad<T>>(dst, g, y);

    /// <summary>
    /// dst[i] = 0 + (y[i] &gt; 0 ? g[i] : 0): <see cref="ReluBackwardAccumulate"/> into a zeroed buffer, the same bits (−0
    /// becomes +0 as in that addition). <paramref name="dst"/> may be <paramref name="y"/>.
    /// </summary>
    public static void ReluBackward<T>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => TernaryOverwrite<T, ReluGrad<T>>(dst, g, y);

    /// <summary>An accumulating map dst += f(g, y), written once over the SIMD width structs.</summary>
    internal interface ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        static abstract V Invoke<V>(V g, V y) where V : struct, ISimdMath<V, T>;
    }

    /// <summary>g (1 - y²).</summary>
    internal readonly struct TanhGrad<T> : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V Invoke<V>(V g, V y) where V : struct, ISimdMath<V, T> => g * (V.One - y * y);
    }

    /// <summary>g y (1 - y).</summary>
    internal readonly struct SigmoidGrad<T> : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V Invoke<V>(V g, V y) where V : struct, ISimdMath<V, T> => g * y * (V.One - y);
    }

    /// <summary>g [y &gt; 0].</summary>
    internal readonly struct ReluGrad<T> : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V Invoke<V>(V g, V y) where V : struct, ISimdMath<V, T> => V.WherePositive(y, g);
    }

    /// <summary>
    /// dst[i] += TOp(g[i], y[i]) at the widest accelerated width, then narrower ones and a scalar tail (the tail is not
    /// overlapped because the map accumulates).
    /// </summary>
    internal static void Ternary<T, TOp>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TOp : struct, ITernaryOperator<T>
    {
        int n = dst.Length, i = 0;
        ref T d = ref MemoryMarshal.GetReference(dst);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated) TernaryRun<T, TOp, Simd512<T>>(ref d, ref gr, ref yr, n, ref i);
        if (Vector256.IsHardwareAccelerated) TernaryRun<T, TOp, Simd256<T>>(ref d, ref gr, ref yr, n, ref i);
        if (Vector128.IsHardwareAccelerated) TernaryRun<T, TOp, Simd128<T>>(ref d, ref gr, ref yr, n, ref i);
        TernaryRun<T, TOp, Scalar<T>>(ref d, ref gr, ref yr, n, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TernaryRun<T, TOp, V>(ref T d, ref T g, ref T y, int n, ref int i)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TOp : struct, ITernaryOperator<T> where V : struct, ISimdMath<V, T>
    {
        for (; i <= n - V.Count; i += V.Count)
            V.Store(V.Load(ref d, i) + TOp.Invoke(V.Load(ref g, i), V.Load(ref y, i)), ref d, i);
    }

    /// <summary>
    /// dst[i] = 0 + TOp(g[i], y[i]) (the accumulating map's bits on a zeroed dst) at the same widths as
    /// <see cref="Ternary"/>; dst may alias y element for element.
    /// </summary>
    internal static void TernaryOverwrite<T, TOp>(Span<T> dst, ReadOnlySpan<T> g, ReadOnlySpan<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TOp : struct, ITernaryOperator<T>
    {
        int n = dst.Length, i = 0;
        ref T d = ref MemoryMarshal.GetReference(dst);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated) TernaryOverwriteRun<T, TOp, Simd512<T>>(ref d, ref gr, ref yr, n, ref i);
        if (Vector256.IsHardwareAccelerated) TernaryOverwriteRun<T, TOp, Simd256<T>>(ref d, ref gr, ref yr, n, ref i);
        if (Vector128.IsHardwareAccelerated) TernaryOverwriteRun<T, TOp, Simd128<T>>(ref d, ref gr, ref yr, n, ref i);
        TernaryOverwriteRun<T, TOp, Scalar<T>>(ref d, ref gr, ref yr, n, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TernaryOverwriteRun<T, TOp, V>(ref T d, ref T g, ref T y, int n, ref int i)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TOp : struct, ITernaryOperator<T> where V : struct, ISimdMath<V, T>
    {
        for (; i <= n - V.Count; i += V.Count)
            V.Store(V.Zero + TOp.Invoke(V.Load(ref g, i), V.Load(ref y, i)), ref d, i);
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
