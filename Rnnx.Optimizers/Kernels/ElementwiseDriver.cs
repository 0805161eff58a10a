using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Rnnx.Optimizers.Kernels;

/// <summary>
/// An element-wise update over a few equally long spans (parameter, gradient, slots), written once as a formula over
/// <see cref="ISimd{TSelf, T}"/> vectors. Implementations are <c>ref struct</c>s holding the spans and the per-step
/// scalar coefficients.
/// </summary>
internal interface IElementwiseKernel<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Number of elements (every span the kernel touches has this length).</summary>
    int Length { get; }

    /// <summary>Updates elements <c>[index, index + TVec.Count)</c>.</summary>
    void Apply<TVec>(nuint index) where TVec : struct, ISimd<TVec, T>;
}

/// <summary>Runs an <see cref="IElementwiseKernel{T}"/> over all elements, widest vectors first.</summary>
internal static class ElementwiseDriver
{
    /// <summary>
    /// Applies <paramref name="kernel"/> to every element: full 512-bit vectors, then 256-bit, then 128-bit (each
    /// only when hardware-accelerated), then a scalar tail. Tail strategy: scalar, never an overlapping vector, because
    /// the kernels update state in place (re-applying an element would advance its moments twice).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T, TKernel>(ref TKernel kernel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TKernel : IElementwiseKernel<T>, allows ref struct
    {
        nuint n = (nuint)kernel.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            nuint w = (nuint)Vector512<T>.Count;
            for (; n - i >= w; i += w) kernel.Apply<Simd512<T>>(i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            nuint w = (nuint)Vector256<T>.Count;
            for (; n - i >= w; i += w) kernel.Apply<Simd256<T>>(i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            nuint w = (nuint)Vector128<T>.Count;
            for (; n - i >= w; i += w) kernel.Apply<Simd128<T>>(i);
        }
        for (; i < n; i++) kernel.Apply<Scalar<T>>(i);
    }
}
