using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Rnnx.Kernels;

/// <summary>
/// Width-agnostic SIMD operations. Every kernel body is written once against this interface and instantiated
/// for <see cref="V512{T}"/>, <see cref="V256{T}"/>, <see cref="V128{T}"/> and <see cref="ScalarOps{T}"/>; the
/// JIT specialises each struct instantiation, so the static abstract calls are inlined and the
/// <c>typeof(T) == typeof(float)</c> branches fold away.
/// </summary>
/// <typeparam name="T">Element type (float or double).</typeparam>
/// <typeparam name="TVec">Vector type holding <see cref="Count"/> elements.</typeparam>
internal unsafe interface ISimd<T, TVec>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TVec : struct
{
    /// <summary>Number of T lanes in a TVec.</summary>
    static abstract int Count { get; }

    /// <summary>
    /// Number of vectors per row in the widest GEMM micro-tile (4 rows x Wide vectors of accumulators):
    /// 4 when 32 vector registers are available (AVX-512), otherwise 2 so that 8 accumulators + operands fit in 16.
    /// </summary>
    static abstract int Wide { get; }

    static abstract TVec Zero { get; }
    static abstract TVec Load(T* p);
    static abstract void Store(T* p, TVec v);
    static abstract TVec Splat(T x);
    static abstract TVec Add(TVec a, TVec b);

    /// <summary>a * b + c, fused when the hardware has FMA for this width.</summary>
    static abstract TVec MulAdd(TVec a, TVec b, TVec c);

    /// <summary>Mask whose lanes with index &gt;= <paramref name="skip"/> are set (used for overlapped tails).</summary>
    static abstract TVec TailMask(int skip);

    /// <summary>Per-lane mask ? ifTrue : ifFalse.</summary>
    static abstract TVec Select(TVec mask, TVec ifTrue, TVec ifFalse);

    /// <summary>Horizontal sum of all lanes.</summary>
    static abstract T Sum(TVec v);
}

/// <summary>AVX-512 (or any 512-bit) implementation.</summary>
internal readonly unsafe struct V512<T> : ISimd<T, Vector512<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    public static int Wide => 4;
    public static Vector512<T> Zero => Vector512<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T* p) => Vector512.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* p, Vector512<T> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Splat(T x) => Vector512.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MulAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        // Vector512 acceleration implies AVX512F, which always has FMA at this width.
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> TailMask(int skip) =>
        Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(skip)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Select(Vector512<T> mask, Vector512<T> ifTrue, Vector512<T> ifFalse) =>
        Vector512.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector512<T> v) => Vector512.Sum(v);
}

/// <summary>AVX2 (or any 256-bit) implementation.</summary>
internal readonly unsafe struct V256<T> : ISimd<T, Vector256<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;

    // With AVX-512VL the JIT uses EVEX encodings and 32 ymm registers: a 4x4 tile (16 accumulators) fits.
    public static int Wide => Avx512F.VL.IsSupported ? 4 : 2;
    public static Vector256<T> Zero => Vector256<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Load(T* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* p, Vector256<T> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Splat(T x) => Vector256.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MulAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> TailMask(int skip) =>
        Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(skip)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Select(Vector256<T> mask, Vector256<T> ifTrue, Vector256<T> ifFalse) =>
        Vector256.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector256<T> v) => Vector256.Sum(v);
}

/// <summary>SSE / AdvSimd (128-bit) implementation.</summary>
internal readonly unsafe struct V128<T> : ISimd<T, Vector128<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;
    public static int Wide => 2;
    public static Vector128<T> Zero => Vector128<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Load(T* p) => Vector128.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* p, Vector128<T> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Splat(T x) => Vector128.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MulAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        // Software-emulated without FMA hardware: use mul + add there.
        if (Fma.IsSupported || AdvSimd.Arm64.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> TailMask(int skip) =>
        Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(skip)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Select(Vector128<T> mask, Vector128<T> ifTrue, Vector128<T> ifFalse) =>
        Vector128.ConditionalSelect(mask, ifTrue, ifFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector128<T> v) => Vector128.Sum(v);
}

/// <summary>Scalar fallback: a "vector" of one element (used when no SIMD is hardware accelerated).</summary>
internal readonly unsafe struct ScalarOps<T> : ISimd<T, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => 1;
    public static int Wide => 2;
    public static T Zero => T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Load(T* p) => *p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* p, T v) => *p = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Splat(T x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Add(T a, T b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MulAdd(T a, T b, T c) => a * b + c;

    // A one-lane vector never needs an overlapped tail; kept exact for completeness.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T TailMask(int skip) => skip <= 0 ? T.One : T.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Select(T mask, T ifTrue, T ifFalse) => mask != T.Zero ? ifTrue : ifFalse;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(T v) => v;
}

/// <summary>Processor facts that change the best vector width (read once; the JIT treats them as constants).</summary>
internal static class CpuTraits
{
    /// <summary>
    /// AVX-512 executed on 256-bit units (AMD Zen 4): a 512-bit FMA costs two 256-bit ones, so for a ragged n
    /// (wasted lanes in the last vector) 256-bit vectors can do the same work with fewer lane-operations.
    /// Zen 3 has no AVX-512 and Zen 5 (family 1Ah) has full-width units, so family 19h + AVX-512 means Zen 4.
    /// </summary>
    public static readonly bool HalfRate512 = DetectHalfRate512();

    private static bool DetectHalfRate512()
    {
        if (!X86Base.IsSupported || !Avx512F.IsSupported)
            return false;
        (_, int ebx, int ecx, int edx) = X86Base.CpuId(0, 0);
        bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163; // "AuthenticAMD"
        if (!amd)
            return false;
        (int eax, _, _, _) = X86Base.CpuId(1, 0);
        int family = ((eax >> 8) & 0xF) + ((eax >> 20) & 0xFF);
        return family == 0x19;
    }

    /// <summary>
    /// Whether 512-bit vectors should be used for rows of <paramref name="n"/> elements, given that
    /// Vector512 is accelerated and n &gt;= its lane count <paramref name="w512"/>: always, unless 512-bit
    /// operations are half-rate and 256-bit vectors need fewer lane-operations (e.g. n = 20 floats: 2 x 16
    /// lanes at double cost vs 3 x 8 lanes).
    /// </summary>
    public static bool Use512(int n, int w512)
    {
        if (!HalfRate512)
            return true;
        int w256 = w512 / 2;
        long cost512 = 2L * ((n + w512 - 1) / w512);
        long cost256 = (n + w256 - 1) / w256;
        return cost512 <= cost256;
    }
}
