using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Rnnx.Kernels;

namespace Rnnx.Simd;

/// <summary>A 128-bit vector (SSE / AdvSimd) (<see cref="Vector128{T}"/>): one instantiation of <see cref="ISimdVector{TSelf, T}"/>.</summary>
/// <typeparam name="T">float or double.</typeparam>
public readonly unsafe struct Simd128<T> : ISimdMath<Simd128<T>, T>, ISimd<T, Vector128<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector128<T> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Simd128(Vector128<T> v) => _v = v;

    /// <summary>The raw vector.</summary>
    internal Vector128<T> Value => _v;

    // ---------------------------------------------------------------- ISimdVector (public formulas)

    /// <inheritdoc />
    public static int Count => Vector128<T>.Count;

    /// <inheritdoc />
    public static Simd128<T> Zero => new(Vector128<T>.Zero);

    /// <inheritdoc />
    public static Simd128<T> One => new(Vector128<T>.One);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Create(T value) => new(Vector128.Create(value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Load(ref T source, nint index) => new(Vector128.LoadUnsafe(ref Unsafe.Add(ref source, index)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd128<T> value, ref T destination, nint index) => value._v.StoreUnsafe(ref Unsafe.Add(ref destination, index));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Sqrt(Simd128<T> x) => new(Vector128.Sqrt(x._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Max(Simd128<T> x, Simd128<T> y) => new(Vector128.Max(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> Min(Simd128<T> x, Simd128<T> y) => new(Vector128.Min(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> MulAdd(Simd128<T> a, Simd128<T> b, Simd128<T> c) => new(FusedIfFma(a._v, b._v, c._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator +(Simd128<T> x, Simd128<T> y) => new(x._v + y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator -(Simd128<T> x, Simd128<T> y) => new(x._v - y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator *(Simd128<T> x, Simd128<T> y) => new(x._v * y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator /(Simd128<T> x, Simd128<T> y) => new(x._v / y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128<T> operator -(Simd128<T> x) => new(-x._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> FusedIfFma(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        // Vector128.FusedMultiplyAdd is emulated in software without the FMA ISA: use mul + add there.
        if (Fma.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }
        return a * b + c;
    }

    // ---------------------------------------------------------------- ISimdMath (gate math, FastMath)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.Round(Simd128<T> x) => typeof(T) == typeof(float)
        ? new(Vector128.Round(x._v.AsSingle()).As<float, T>())
        : new(Vector128.Round(x._v.AsDouble()).As<double, T>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.Abs(Simd128<T> x) => new(Vector128.Abs(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.SelectWhereLess(Simd128<T> a, Simd128<T> b, Simd128<T> ifTrue, Simd128<T> ifFalse)
        => new(Vector128.ConditionalSelect(Vector128.LessThan(a._v, b._v), ifTrue._v, ifFalse._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.PowerOfTwo(Simd128<T> n)
        => new(((Vector128.ConvertToInt32Native(n._v.AsSingle()) + Vector128.Create(127)) << 23).As<int, T>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.Sigmoid(Simd128<T> x)
    {
        if (typeof(T) == typeof(float)) return new(FastMath.Sigmoid(new Simd128<float>(x._v.AsSingle()))._v.As<float, T>());
        return PerLane(x, static v => T.One / (T.One + T.Exp(-v)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.Tanh(Simd128<T> x)
    {
        if (typeof(T) == typeof(float)) return new(FastMath.Tanh(new Simd128<float>(x._v.AsSingle()))._v.As<float, T>());
        return PerLane(x, static v => T.Tanh(v));
    }

    // MINPS/MAXPS return their second operand when either is NaN: with the bound first, a NaN x comes back as it is
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.Clamp(Simd128<T> x, Simd128<T> lo, Simd128<T> hi)
    {
        if (typeof(T) == typeof(float) && Sse.IsSupported)
            return new(Sse.Min(hi._v.AsSingle(), Sse.Max(lo._v.AsSingle(), x._v.AsSingle())).As<float, T>());
        if (typeof(T) == typeof(double) && Sse2.IsSupported)
            return new(Sse2.Min(hi._v.AsDouble(), Sse2.Max(lo._v.AsDouble(), x._v.AsDouble())).As<double, T>());
        return new(Vector128.Min(Vector128.Max(x._v, lo._v), hi._v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.Relu(Simd128<T> x) => new(Vector128.Max(x._v, Vector128<T>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd128<T> ISimdMath<Simd128<T>, T>.WherePositive(Simd128<T> y, Simd128<T> g)
        => new(Vector128.ConditionalSelect(Vector128.GreaterThan(y._v, Vector128<T>.Zero), g._v, Vector128<T>.Zero));

    // The library functions lane by lane: double vectors have no fast approximation (the fused kernels run double one lane at a time).
    private static Simd128<T> PerLane(Simd128<T> x, Func<T, T> f)
    {
        Span<T> s = stackalloc T[Vector128<T>.Count];
        x._v.CopyTo(s);
        for (int i = 0; i < s.Length; i++) s[i] = f(s[i]);
        return new(Vector128.Create<T>(s));
    }

    // ---------------------------------------------------------------- ISimd (raw registers for the GEMM and reduction kernels)

    static int ISimd<T, Vector128<T>>.Count => Vector128<T>.Count;

    static int ISimd<T, Vector128<T>>.Wide => 2;

    static Vector128<T> ISimd<T, Vector128<T>>.Zero => Vector128<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<T> ISimd<T, Vector128<T>>.Load(T* p) => Vector128.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ISimd<T, Vector128<T>>.Store(T* p, Vector128<T> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<T> ISimd<T, Vector128<T>>.Splat(T x) => Vector128.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<T> ISimd<T, Vector128<T>>.Add(Vector128<T> a, Vector128<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<T> ISimd<T, Vector128<T>>.MulAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        // The GEMM kernels also fuse on Arm64 (AdvSimd has FMA at this width).
        if (AdvSimd.Arm64.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }
        return FusedIfFma(a, b, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<T> ISimd<T, Vector128<T>>.TailMask(int skip) =>
        Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(skip)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<T> ISimd<T, Vector128<T>>.Select(Vector128<T> mask, Vector128<T> ifTrue, Vector128<T> ifFalse) =>
        Vector128.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, Vector128<T>>.Sum(Vector128<T> v) => Vector128.Sum(v);
}
