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
    public static void Run<T, TBody>(ref TBody body)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TBody : IElementwiseBody<T>, allows ref struct
    {
        nint n = body.Length;
        nint i = 0;
        if (Vector512.IsHardwareAccelerated) i = Loop<T, TBody, Simd512<T>>(ref body, i, n);
        if (Vector256.IsHardwareAccelerated) i = Loop<T, TBody, Simd256<T>>(ref body, i, n);
        if (Vector128.IsHardwareAccelerated) i = Loop<T, TBody, Simd128<T>>(ref body, i, n);
        Loop<T, TBody, Scalar<T>>(ref body, i, n);
    }

    /// <summary>
    /// The body on whole <typeparamref name="TVec"/> vectors from <paramref name="i"/> while they fit in
    /// <paramref name="n"/>; returns the first element left. A method of its own per width: with every width's loop
    /// inlined into one caller, an optimizer's formula exhausts the JIT's inlining budget and its vector operations
    /// end up as calls (Nadam's update, every add, multiply, divide and square root a call, was about 6 % of an LSTM
    /// training step at 512 units; inlined, its time is that of its memory traffic).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint Loop<T, TBody, TVec>(ref TBody body, nint i, nint n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TBody : IElementwiseBody<T>, allows ref struct
        where TVec : struct, ISimdVector<TVec, T>
    {
        nint w = TVec.Count;
        for (; n - i >= w; i += w) body.Apply<TVec>(i);
        return i;
    }
}
