using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Rnnx.Kernels;

/// <summary>
/// The raw-register facet of the SIMD width structs (<see cref="Simd.Simd512{T}"/>, <see cref="Simd.Simd256{T}"/>,
/// <see cref="Simd.Simd128{T}"/>, <see cref="Simd.Scalar{T}"/>, which implement it explicitly): the GEMM, GEMV and
/// reduction kernels keep their accumulators in bare vector registers. Every kernel body is written once; the
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
