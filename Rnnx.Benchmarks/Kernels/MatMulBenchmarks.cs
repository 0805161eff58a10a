using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;
using Rnnx.Simd;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>A GEMM problem C[m x n] = op(A) * op(B) (contiguous operands, minimal leading dimensions).</summary>
public sealed class GemmShape(string name, bool transA, bool transB, int m, int n, int k) : IFlopCount
{
    public bool TransA { get; } = transA;
    public bool TransB { get; } = transB;
    public int M { get; } = m;
    public int N { get; } = n;
    public int K { get; } = k;
    public int Lda => TransA ? M : K;
    public int Ldb => TransB ? K : N;
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => name;

    /// <summary>A and B filled with values uniform in [-0.5, 0.5) from a fixed seed, and a zero C.</summary>
    public (float[] A, float[] B, float[] C) Operands(int seed = 42)
    {
        var rng = new System.Random(seed);
        float[] a = Enumerable.Range(0, M * K).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        float[] b = Enumerable.Range(0, K * N).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        return (a, b, new float[M * N]);
    }
}

/// <summary>
/// The engine's GEMM against the scalar triple loop on the recurrent shapes (batch 32 / 16, hidden 20,
/// 4 gates = 80 columns), their backward counterparts, and 256^3.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class MatMulBenchmarks
{
    public static IEnumerable<GemmShape> Shapes =>
    [
        new("32x21*21x80", false, false, 32, 80, 21),            // gates = [x, h] * W (input 1 + hidden 20)
        new("32x20*20x80", false, false, 32, 80, 20),            // gates += h * U
        new("16x20*20x80", false, false, 16, 80, 20),            // batch 16
        new("32x80*(20x80)^T", false, true, 32, 20, 80),         // dh = dGates * U^T
        new("(1600x20)^T*1600x80", true, false, 20, 80, 1600),   // dU = H^T * dGates over 50 steps x 32
        new("256x256*256x256", false, false, 256, 256, 256),
        new("1x20*20x80", false, false, 1, 80, 20),              // one series: h * U (GemvCore)
        new("2000x50*50x1", false, false, 2000, 1, 50),          // Dense(1) over the validation set (8-row dot kernel)
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        (_a, _b, _c) = Shape.Operands();
    }

    [Benchmark(Baseline = true, Description = "Scalar reference")]
    public void Reference()
    {
        GemmShape s = Shape;
        ReferenceMatMul.Gemm<float>(s.TransA, s.TransB, s.M, s.N, s.K, _a, s.Lda, _b, s.Ldb, _c, s.N, false);
    }

    [Benchmark(Description = "MatMulKernels.Gemm")]
    public void Simd()
    {
        GemmShape s = Shape;
        MatMulKernels.Gemm<float>(s.TransA, s.TransB, s.M, s.N, s.K, _a, s.Lda, _b, s.Ldb, _c, s.N, false);
    }
}

/// <summary>A fixed amount of register-only FMA work at the widest hardware-accelerated vector width, for the fp32 peak.</summary>
public sealed class PeakCase : IFlopCount
{
    public const int Iterations = 1 << 20;
    public const int Chains = 12;

    /// <summary>Lanes of the widest accelerated vector (512-bit only where it is not emulated: not on AVX2-only parts).</summary>
    public static int Lanes => Vector512.IsHardwareAccelerated ? Vector512<float>.Count
        : Vector256.IsHardwareAccelerated ? Vector256<float>.Count
        : Vector128<float>.Count;

    public double Flops => 2.0 * Chains * Lanes * Iterations;
    public override string ToString() => $"{Chains} chains x {Iterations} x {Lanes} lanes";
}

/// <summary>
/// fp32 FMA peak of one core: 12 independent FMA chains (enough to cover latency x throughput), no memory traffic,
/// at the widest accelerated width (a 512-bit vector on an AVX2-only machine is emulated and would measure the
/// emulation). Its GFLOP/s is the ceiling the GEMM figures are compared with.
/// </summary>
[Config(typeof(GflopsConfig))]
public class FmaPeakBenchmarks
{
    public static IEnumerable<PeakCase> Cases => [new PeakCase()];

    [ParamsSource(nameof(Cases))]
    public PeakCase Case { get; set; } = null!;

    [Benchmark(Description = "FMA peak (widest accelerated width)")]
    public float Fma() => Widest(PeakCase.Iterations);

    /// <summary>The 12 chains, <paramref name="iterations"/> steps each, at the widest accelerated width.</summary>
    internal static float Widest(int iterations) => Vector512.IsHardwareAccelerated ? Peak<Simd512<float>>(iterations)
        : Vector256.IsHardwareAccelerated ? Peak<Simd256<float>>(iterations)
        : Peak<Simd128<float>>(iterations);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Peak<TV>(int n) where TV : struct, ISimdVector<TV, float>
    {
        TV a0 = TV.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        TV a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        TV x = TV.Create(0.999f), y = TV.Create(0.001f);
        for (int i = 0; i < n; i++)
        {
            a0 = TV.MulAdd(a0, x, y); a1 = TV.MulAdd(a1, x, y);
            a2 = TV.MulAdd(a2, x, y); a3 = TV.MulAdd(a3, x, y);
            a4 = TV.MulAdd(a4, x, y); a5 = TV.MulAdd(a5, x, y);
            a6 = TV.MulAdd(a6, x, y); a7 = TV.MulAdd(a7, x, y);
            a8 = TV.MulAdd(a8, x, y); a9 = TV.MulAdd(a9, x, y);
            a10 = TV.MulAdd(a10, x, y); a11 = TV.MulAdd(a11, x, y);
        }
        TV sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        float total = 0;
        for (int i = 0; i < TV.Count; i++) total += Unsafe.Add(ref Unsafe.As<TV, float>(ref sum), i);
        return total;
    }
}

/// <summary>
/// The GEMM at real model sizes (docs/benchmarks.md's GEMM rows): the unpacked engine (baseline) against the
/// packed-panel engine on a B packed once (what a sequence op does at every step) and <see cref="MatMulKernels.Gemm{T}"/>,
/// which packs per call when it pays. One thread; GFLOP/s from the median.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class GemmScaleBenchmarks
{
    public static IEnumerable<GemmShape> Shapes => GemmScale.Shapes;

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float[] _a = [], _b = [], _c = [], _packed = [];

    [GlobalSetup]
    public void Setup()
    {
        (_a, _b, _c) = Shape.Operands();
        _packed = new float[PackedGemm.PackedLength<float>(Shape.K, Shape.N)];
        PackedGemm.Pack<float>(Shape.TransB, Shape.K, Shape.N, _b, Shape.Ldb, _packed);
    }

    [Benchmark(Baseline = true, Description = "Unpacked engine")]
    public void Unpacked()
    {
        GemmShape s = Shape;
        MatMulKernels.GemmUnpacked<float>(s.TransA, s.TransB, s.M, s.N, s.K, _a, s.Lda, _b, s.Ldb, _c, s.N, false);
    }

    [Benchmark(Description = "PackedGemm (B packed once)")]
    public void Packed()
    {
        GemmShape s = Shape;
        PackedGemm.Gemm<float>(s.TransA, s.M, s.N, s.K, _a, s.Lda, _packed, _c, s.N, false);
    }

    [Benchmark(Description = "MatMulKernels.Gemm")]
    public void Gemm()
    {
        GemmShape s = Shape;
        MatMulKernels.Gemm<float>(s.TransA, s.TransB, s.M, s.N, s.K, _a, s.Lda, _b, s.Ldb, _c, s.N, false);
    }
}
