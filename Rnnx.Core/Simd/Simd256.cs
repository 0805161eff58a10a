using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Rnnx.Kernels;

namespace Rnnx.Simd;

/// <summary>A 256-bit vector (<see cref="Vector256{T}"/>): one instantiation of <see cref="ISimdVector{TSelf, T}"/>.</summary>
/// <typeparam name="T">float or double.</typeparam>
public readonly unsafe struct Simd256<T> : ISimdMath<Simd256<T>, T>, ISimd<T, Vector256<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector256<T> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Simd256(Vector256<T> v) => _v = v;

    /// <summary>The raw vector.</summary>
    internal Vector256<T> Value => _v;

    // ---------------------------------------------------------------- ISimdVector (public formulas)

    /// <inheritdoc />
    public static int Count => Vector256<T>.Count;

    /// <inheritdoc />
    public static Simd256<T> Zero => new(Vector256<T>.Zero);

    /// <inheritdoc />
    public static Simd256<T> One => new(Vector256<T>.One);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Create(T value) => new(Vector256.Create(value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Load(ref T source, nint index) => new(Vector256.LoadUnsafe(ref Unsafe.Add(ref source, index)));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd256<T> value, ref T destination, nint index) => value._v.StoreUnsafe(ref Unsafe.Add(ref destination, index));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Sqrt(Simd256<T> x) => new(Vector256.Sqrt(x._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Max(Simd256<T> x, Simd256<T> y) => new(Vector256.Max(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> Min(Simd256<T> x, Simd256<T> y) => new(Vector256.Min(x._v, y._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> MulAdd(Simd256<T> a, Simd256<T> b, Simd256<T> c) => new(FusedIfFma(a._v, b._v, c._v));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator +(Simd256<T> x, Simd256<T> y) => new(x._v + y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator -(Simd256<T> x, Simd256<T> y) => new(x._v - y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator *(Simd256<T> x, Simd256<T> y) => new(x._v * y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator /(Simd256<T> x, Simd256<T> y) => new(x._v / y._v);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256<T> operator -(Simd256<T> x) => new(-x._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> FusedIfFma(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        // Vector256.FusedMultiplyAdd is emulated in software without the FMA ISA: use mul + add there.
        if (Fma.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }
        return a * b + c;
    }

    // ---------------------------------------------------------------- ISimdMath (gate math, FastMath)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.Round(Simd256<T> x) => typeof(T) == typeof(float)
        ? new(Vector256.Round(x._v.AsSingle()).As<float, T>())
        : new(Vector256.Round(x._v.AsDouble()).As<double, T>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.Abs(Simd256<T> x) => new(Vector256.Abs(x._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.SelectWhereLess(Simd256<T> a, Simd256<T> b, Simd256<T> ifTrue, Simd256<T> ifFalse)
        => new(Vector256.ConditionalSelect(Vector256.LessThan(a._v, b._v), ifTrue._v, ifFalse._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.PowerOfTwo(Simd256<T> n)
        => new(((Vector256.ConvertToInt32Native(n._v.AsSingle()) + Vector256.Create(127)) << 23).As<int, T>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.Sigmoid(Simd256<T> x)
    {
        if (typeof(T) == typeof(float)) return new(FastMath.Sigmoid(new Simd256<float>(x._v.AsSingle()))._v.As<float, T>());
        return PerLane(x, static v => T.One / (T.One + T.Exp(-v)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.Tanh(Simd256<T> x)
    {
        if (typeof(T) == typeof(float)) return new(FastMath.Tanh(new Simd256<float>(x._v.AsSingle()))._v.As<float, T>());
        return PerLane(x, static v => T.Tanh(v));
    }

    // VMINPS/VMAXPS return their second operand when either is NaN: with the bound first, a NaN x comes back as it is
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.Clamp(Simd256<T> x, Simd256<T> lo, Simd256<T> hi)
    {
        if (typeof(T) == typeof(float) && Avx.IsSupported)
            return new(Avx.Min(hi._v.AsSingle(), Avx.Max(lo._v.AsSingle(), x._v.AsSingle())).As<float, T>());
        if (typeof(T) == typeof(double) && Avx.IsSupported)
            return new(Avx.Min(hi._v.AsDouble(), Avx.Max(lo._v.AsDouble(), x._v.AsDouble())).As<double, T>());
        return new(Vector256.Min(Vector256.Max(x._v, lo._v), hi._v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.Relu(Simd256<T> x) => new(Vector256.Max(x._v, Vector256<T>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Simd256<T> ISimdMath<Simd256<T>, T>.WherePositive(Simd256<T> y, Simd256<T> g)
        => new(Vector256.ConditionalSelect(Vector256.GreaterThan(y._v, Vector256<T>.Zero), g._v, Vector256<T>.Zero));

    // The library functions lane by lane: double vectors have no fast approximation (the fused kernels run double one lane at a time).
    private static Simd256<T> PerLane(Simd256<T> x, Func<T, T> f)
    {
        Span<T> s = stackalloc T[Vector256<T>.Count];
        x._v.CopyTo(s);
        for (int i = 0; i < s.Length; i++) s[i] = f(s[i]);
        return new(Vector256.Create<T>(s));
    }

    // ---------------------------------------------------------------- ISimd (raw registers for the GEMM and reduction kernels)

    static int ISimd<T, Vector256<T>>.Count => Vector256<T>.Count;

    // With AVX-512VL the JIT uses EVEX encodings and 32 ymm registers: a 4x4 tile (16 accumulators) fits.
    static int ISimd<T, Vector256<T>>.Wide => Avx512F.VL.IsSupported ? 4 : 2;

    static Vector256<T> ISimd<T, Vector256<T>>.Zero => Vector256<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> ISimd<T, Vector256<T>>.Load(T* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ISimd<T, Vector256<T>>.Store(T* p, Vector256<T> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> ISimd<T, Vector256<T>>.Splat(T x) => Vector256.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> ISimd<T, Vector256<T>>.Add(Vector256<T> a, Vector256<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> ISimd<T, Vector256<T>>.MulAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c) => FusedIfFma(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> ISimd<T, Vector256<T>>.TailMask(int skip) =>
        Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(skip)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> ISimd<T, Vector256<T>>.Select(Vector256<T> mask, Vector256<T> ifTrue, Vector256<T> ifFalse) =>
        Vector256.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T ISimd<T, Vector256<T>>.Sum(Vector256<T> v) => Vector256.Sum(v);
}
