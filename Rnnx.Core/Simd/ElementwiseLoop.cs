using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Rnnx.Simd;

/// <summary>
/// An element-wise update over a few equally long spans (for example an optimizer's parameter, gradient and slots),
/// written once as a formula over <see cref="ISimdVector{TSelf, T}"/> vectors. Implement it as a <c>ref struct</c>
/// holding the spans and the scalar coefficients, and run it with <see cref="ElementwiseLoop.Run{T, TBody}"/>.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public interface IElementwiseBody<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Number of elements (every span the body touches has this length).</summary>
    int Length { get; }

    /// <summary>Updates elements <c>[index, index + TVec.Count)</c>.</summary>
    /// <typeparam name="TVec">The vector width of this call.</typeparam>
    /// <param name="index">The first element.</param>
    void Apply<TVec>(nint index) where TVec : struct, ISimdVector<TVec, T>;
}

/// <summary>Runs an <see cref="IElementwiseBody{T}"/> over all elements, widest vectors first.</summary>
public static class ElementwiseLoop
{
    /// <summary>
    /// Applies <paramref name="body"/> to every element: full 512-bit vectors, then 256-bit, then 128-bit (each
    /// only when hardware-accelerated), then a scalar tail. The tail is scalar, never an overlapping vector, because
    /// bodies may update state in place (re-applying an element would, for example, advance its moments twice).
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <typeparam name="TBody">The body.</typeparam>
    /// <param name="body">The update to run.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T, TBody>(ref TBody body)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TBody : IElementwiseBody<T>, allows ref struct
    {
        nint n = body.Length;
        nint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            nint w = Vector512<T>.Count;
            for (; n - i >= w; i += w) body.Apply<Simd512<T>>(i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            nint w = Vector256<T>.Count;
            for (; n - i >= w; i += w) body.Apply<Simd256<T>>(i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            nint w = Vector128<T>.Count;
            for (; n - i >= w; i += w) body.Apply<Simd128<T>>(i);
        }
        for (; i < n; i++) body.Apply<Scalar<T>>(i);
    }
}
