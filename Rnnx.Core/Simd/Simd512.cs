using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Rnnx.Kernels;

namespace Rnnx.Simd;

/// <summary>A 512-bit vector (<see cref="Vector512{T}"/>): one instantiation of <see cref="ISimdVector{TSelf, T}"/>.</summary>
/// <typeparam name="T">float or double.</typeparam>
public readonly unsafe struct Simd512<T> : ISimdMath<Simd512<T>, T>, ISimd<T, Vector512<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector512<T> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Simd512(Vector512<T> v) => _v = v;

    /// <summary>The raw vector.</summary>
    internal Vector512<T> Value => _v;

    // ---------------------------------------------------------------- ISimdVector (public formulas)

    /// <inheritdoc />
    public static int Count => Vector512<T>.Count;

    /// <inheritdoc />
    public static Simd512<T> Zero => new(Vector512<T>.Zero);

    /// <inheritdoc />
    public static Simd512<T> One => new(Vector512<T>.One);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Create(T value) => new(Vector512.Create(value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Load(ref T source, nint index) => new(Vector512.LoadUnsafe(ref Unsafe.Add(ref source, index)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd512<T> value, ref T destination, nint index) => value._v.StoreUnsafe(ref Unsafe.Add(ref destination, index));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Sqrt(Simd512<T> x) => new(Vector512.Sqrt(x._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Max(Simd512<T> x, Simd512<T> y) => new(Vector512.Max(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> Min(Simd512<T> x, Simd512<T> y) => new(Vector512.Min(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> MulAdd(Simd512<T> a, Simd512<T> b, Simd512<T> c) => new(FusedIfFma(a._v, b._v, c._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator +(Simd512<T> x, Simd512<T> y) => new(x._v + y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator -(Simd512<T> x, Simd512<T> y) => new(x._v - y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator *(Simd512<T> x, Simd512<T> y) => new(x._v * y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator /(Simd512<T> x, Simd512<T> y) => new(x._v / y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512<T> operator -(Simd512<T> x) => new(-x._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> FusedIfFma(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        // Vector512.FusedMultiplyAdd is emulated in software without the FMA ISA: use mul + add there.
        if (Fma.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }
        return a * b + c;
    }

    // ---------------------------------------------------------------- ISimdMath (gate math, FastMath)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.Round(Simd512<T> x) => typeof(T) == typeof(float)
        ? new(Vector512.Round(x._v.AsSingle()).As<float, T>())
        : new(Vector512.Round(x._v.AsDouble()).As<double, T>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.Abs(Simd512<T> x) => new(Vector512.Abs(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.SelectWhereLess(Simd512<T> a, Simd512<T> b, Simd512<T> ifTrue, Simd512<T> ifFalse)
        => new(Vector512.ConditionalSelect(Vector512.LessThan(a._v, b._v), ifTrue._v, ifFalse._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.PowerOfTwo(Simd512<T> n)
        => new(((Vector512.ConvertToInt32Native(n._v.AsSingle()) + Vector512.Create(127)) << 23).As<int, T>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.Sigmoid(Simd512<T> x)
    {
        if (typeof(T) == typeof(float)) return new(FastMath.Sigmoid(new Simd512<float>(x._v.AsSingle()))._v.As<float, T>());
        return PerLane(x, static v => T.One / (T.One + T.Exp(-v)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.Tanh(Simd512<T> x)
    {
        if (typeof(T) == typeof(float)) return new(FastMath.Tanh(new Simd512<float>(x._v.AsSingle()))._v.As<float, T>());
        return PerLane(x, static v => T.Tanh(v));
    }

    // VMINPS/VMAXPS return their second operand when either is NaN: with the bound first, a NaN x comes back as it is
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.Clamp(Simd512<T> x, Simd512<T> lo, Simd512<T> hi)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
            return new(Avx512F.Min(hi._v.AsSingle(), Avx512F.Max(lo._v.AsSingle(), x._v.AsSingle())).As<float, T>());
        if (typeof(T) == typeof(double) && Avx512F.IsSupported)
            return new(Avx512F.Min(hi._v.AsDouble(), Avx512F.Max(lo._v.AsDouble(), x._v.AsDouble())).As<double, T>());
        return new(Vector512.Min(Vector512.Max(x._v, lo._v), hi._v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.Relu(Simd512<T> x) => new(Vector512.Max(x._v, Vector512<T>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd512<T> ISimdMath<Simd512<T>, T>.WherePositive(Simd512<T> y, Simd512<T> g)
        => new(Vector512.ConditionalSelect(Vector512.GreaterThan(y._v, Vector512<T>.Zero), g._v, Vector512<T>.Zero));

    // The library functions lane by lane: double vectors have no fast approximation (the fused kernels run double one lane at a time).
    private static Simd512<T> PerLane(Simd512<T> x, Func<T, T> f)
    {
        Span<T> s = stackalloc T[Vector512<T>.Count];
        x._v.CopyTo(s);
        for (int i = 0; i < s.Length; i++) s[i] = f(s[i]);
        return new(Vector512.Create<T>(s));
    }

    // ---------------------------------------------------------------- ISimd (raw registers for the GEMM and reduction kernels)

    static int ISimd<T, Vector512<T>>.Count => Vector512<T>.Count;

    // 32 zmm registers: a 4x4 tile (16 accumulators) fits.
    static int ISimd<T, Vector512<T>>.Wide => 4;

    static Vector512<T> ISimd<T, Vector512<T>>.Zero => Vector512<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> ISimd<T, Vector512<T>>.Load(T* p) => Vector512.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ISimd<T, Vector512<T>>.Store(T* p, Vector512<T> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> ISimd<T, Vector512<T>>.Splat(T x) => Vector512.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> ISimd<T, Vector512<T>>.Add(Vector512<T> a, Vector512<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> ISimd<T, Vector512<T>>.MulAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        // Vector512 acceleration implies AVX512F, which always has FMA at this width.
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> ISimd<T, Vector512<T>>.TailMask(int skip) =>
        Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(skip)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> ISimd<T, Vector512<T>>.Select(Vector512<T> mask, Vector512<T> ifTrue, Vector512<T> ifFalse) =>
        Vector512.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, Vector512<T>>.Sum(Vector512<T> v) => Vector512.Sum(v);
}
