using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Rnnx.Kernels;

namespace Rnnx.Simd;

/// <summary>
/// A one-element "vector": the instantiation of <see cref="ISimdVector{TSelf, T}"/> for loop tails and for machines
/// without SIMD. Performs the same IEEE operations as one lane of the vector widths.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public readonly unsafe struct Scalar<T> : ISimdMath<Scalar<T>, T>, ISimd<T, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Scalar(T v) => _v = v;

    /// <summary>The value.</summary>
    internal T Value => _v;

    // ---------------------------------------------------------------- ISimdVector (public formulas)

    /// <inheritdoc />
    public static int Count => 1;

    /// <inheritdoc />
    public static Scalar<T> Zero => new(T.Zero);

    /// <inheritdoc />
    public static Scalar<T> One => new(T.One);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Create(T value) => new(value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Load(ref T source, nint index) => new(Unsafe.Add(ref source, index));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Scalar<T> value, ref T destination, nint index) => Unsafe.Add(ref destination, index) = value._v;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Sqrt(Scalar<T> x) => new(T.Sqrt(x._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Max(Scalar<T> x, Scalar<T> y) => new(T.Max(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> Min(Scalar<T> x, Scalar<T> y) => new(T.Min(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> MulAdd(Scalar<T> a, Scalar<T> b, Scalar<T> c) => new(Fma.IsSupported ? T.FusedMultiplyAdd(a._v, b._v, c._v) : a._v * b._v + c._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator +(Scalar<T> x, Scalar<T> y) => new(x._v + y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator -(Scalar<T> x, Scalar<T> y) => new(x._v - y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator *(Scalar<T> x, Scalar<T> y) => new(x._v * y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator /(Scalar<T> x, Scalar<T> y) => new(x._v / y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Scalar<T> operator -(Scalar<T> x) => new(-x._v);

    // ---------------------------------------------------------------- ISimdMath (gate math, FastMath)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.Round(Scalar<T> x) => new(T.Round(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.Abs(Scalar<T> x) => new(T.Abs(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.SelectWhereLess(Scalar<T> a, Scalar<T> b, Scalar<T> ifTrue, Scalar<T> ifFalse)
        => a._v < b._v ? ifTrue : ifFalse;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.PowerOfTwo(Scalar<T> n)
    {
        float bits = BitConverter.Int32BitsToSingle(((int)float.CreateTruncating(n._v) + 127) << 23);
        return new(T.CreateTruncating(bits));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.Sigmoid(Scalar<T> x)
    {
        if (typeof(T) == typeof(float)) return new(T.CreateTruncating(FastMath.Sigmoid(new Scalar<float>(float.CreateTruncating(x._v)))._v));
        return new(T.One / (T.One + T.Exp(-x._v)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.Tanh(Scalar<T> x)
    {
        if (typeof(T) == typeof(float)) return new(T.CreateTruncating(FastMath.Tanh(new Scalar<float>(float.CreateTruncating(x._v)))._v));
        return new(T.Tanh(x._v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.Clamp(Scalar<T> x, Scalar<T> lo, Scalar<T> hi) => new(T.Min(T.Max(x._v, lo._v), hi._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.Relu(Scalar<T> x) => new(T.Max(x._v, T.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Scalar<T> ISimdMath<Scalar<T>, T>.WherePositive(Scalar<T> y, Scalar<T> g) => new(y._v > T.Zero ? g._v : T.Zero);

    // ---------------------------------------------------------------- ISimd (the GEMM and reduction kernels' scalar path)

    static int ISimd<T, T>.Count => 1;

    static int ISimd<T, T>.Wide => 2;

    static T ISimd<T, T>.Zero => T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.Load(T* p) => *p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ISimd<T, T>.Store(T* p, T v) => *p = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.Splat(T x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.Add(T a, T b) => a + b;

    // The scalar GEMM path is the unfused reference the vector paths are compared with when no SIMD is available.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.MulAdd(T a, T b, T c) => a * b + c;

    // A one-lane vector never needs an overlapped tail; kept exact for completeness.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.TailMask(int skip) => skip <= 0 ? T.One : T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.Select(T mask, T ifTrue, T ifFalse) => mask != T.Zero ? ifTrue : ifFalse;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, T>.Sum(T v) => v;
}
