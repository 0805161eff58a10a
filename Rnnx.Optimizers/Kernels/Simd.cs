using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Rnnx.Optimizers.Kernels;

/// <summary>
/// The few vector operations the optimizer update formulas need, as static abstract members, so that each formula is
/// written once (generic over <typeparamref name="TSelf"/>) and instantiated for <see cref="Vector512{T}"/>,
/// <see cref="Vector256{T}"/>, <see cref="Vector128{T}"/> and a one-element scalar. (The runtime's own
/// <c>ISimdVector</c> is not public in .NET 10.)
/// </summary>
/// <remarks>
/// Every operation is an IEEE-754 correctly rounded element-wise operation (no fused multiply-add: the JIT does not
/// contract <c>a*b + c</c>), so the vector and scalar instantiations give bit-identical results for each element.
/// </remarks>
internal interface ISimd<TSelf, T>
    where TSelf : struct, ISimd<TSelf, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Elements per vector.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes set to <paramref name="value"/>.</summary>
    static abstract TSelf Create(T value);

    /// <summary>Loads <see cref="Count"/> elements starting at <c>source[index]</c> (no bounds check).</summary>
    static abstract TSelf Load(ref T source, nuint index);

    /// <summary>Stores <see cref="Count"/> elements starting at <c>destination[index]</c> (no bounds check).</summary>
    static abstract void Store(TSelf value, ref T destination, nuint index);

    /// <summary>Element-wise square root.</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>Element-wise maximum (NaN-propagating, like <see cref="Math.Max(double, double)"/>).</summary>
    static abstract TSelf Max(TSelf x, TSelf y);

    /// <summary>Element-wise sum.</summary>
    static abstract TSelf operator +(TSelf x, TSelf y);

    /// <summary>Element-wise difference.</summary>
    static abstract TSelf operator -(TSelf x, TSelf y);

    /// <summary>Element-wise product.</summary>
    static abstract TSelf operator *(TSelf x, TSelf y);

    /// <summary>Element-wise quotient.</summary>
    static abstract TSelf operator /(TSelf x, TSelf y);
}

/// <summary>512-bit instantiation of <see cref="ISimd{TSelf, T}"/>.</summary>
internal readonly struct Simd512<T> : ISimd<Simd512<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector512<T> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Simd512(Vector512<T> v) => _v = v;

    public static int Count => Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Create(T value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Load(ref T source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd512<T> value, ref T destination, nuint index) => value._v.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Sqrt(Simd512<T> x) => new(Vector512.Sqrt(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Max(Simd512<T> x, Simd512<T> y) => new(Vector512.Max(x._v, y._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator +(Simd512<T> x, Simd512<T> y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator -(Simd512<T> x, Simd512<T> y) => new(x._v - y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator *(Simd512<T> x, Simd512<T> y) => new(x._v * y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator /(Simd512<T> x, Simd512<T> y) => new(x._v / y._v);
}

/// <summary>256-bit instantiation of <see cref="ISimd{TSelf, T}"/>.</summary>
internal readonly struct Simd256<T> : ISimd<Simd256<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector256<T> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Simd256(Vector256<T> v) => _v = v;

    public static int Count => Vector256<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Create(T value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Load(ref T source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd256<T> value, ref T destination, nuint index) => value._v.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Sqrt(Simd256<T> x) => new(Vector256.Sqrt(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Max(Simd256<T> x, Simd256<T> y) => new(Vector256.Max(x._v, y._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator +(Simd256<T> x, Simd256<T> y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator -(Simd256<T> x, Simd256<T> y) => new(x._v - y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator *(Simd256<T> x, Simd256<T> y) => new(x._v * y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator /(Simd256<T> x, Simd256<T> y) => new(x._v / y._v);
}

/// <summary>128-bit instantiation of <see cref="ISimd{TSelf, T}"/>.</summary>
internal readonly struct Simd128<T> : ISimd<Simd128<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector128<T> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Simd128(Vector128<T> v) => _v = v;

    public static int Count => Vector128<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Create(T value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Load(ref T source, nuint index) => new(Vector128.LoadUnsafe(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd128<T> value, ref T destination, nuint index) => value._v.StoreUnsafe(ref destination, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Sqrt(Simd128<T> x) => new(Vector128.Sqrt(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Max(Simd128<T> x, Simd128<T> y) => new(Vector128.Max(x._v, y._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator +(Simd128<T> x, Simd128<T> y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator -(Simd128<T> x, Simd128<T> y) => new(x._v - y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator *(Simd128<T> x, Simd128<T> y) => new(x._v * y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator /(Simd128<T> x, Simd128<T> y) => new(x._v / y._v);
}

/// <summary>One-element (scalar) instantiation of <see cref="ISimd{TSelf, T}"/>, used for the tail of every loop.</summary>
internal readonly struct Scalar<T> : ISimd<Scalar<T>, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Scalar(T v) => _v = v;

    public static int Count => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Create(T value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Load(ref T source, nuint index) => new(Unsafe.Add(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Scalar<T> value, ref T destination, nuint index) => Unsafe.Add(ref destination, index) = value._v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Sqrt(Scalar<T> x) => new(T.Sqrt(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Max(Scalar<T> x, Scalar<T> y) => new(T.Max(x._v, y._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator +(Scalar<T> x, Scalar<T> y) => new(x._v + y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator -(Scalar<T> x, Scalar<T> y) => new(x._v - y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator *(Scalar<T> x, Scalar<T> y) => new(x._v * y._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator /(Scalar<T> x, Scalar<T> y) => new(x._v / y._v);
}
