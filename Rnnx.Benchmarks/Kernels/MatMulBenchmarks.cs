using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

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
        var rng = new System.Random(42);
        _a = Enumerable.Range(0, Shape.M * Shape.K).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        _b = Enumerable.Range(0, Shape.K * Shape.N).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        _c = new float[Shape.M * Shape.N];
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

/// <summary>A fixed amount of register-only FMA work, for the machine's fp32 peak.</summary>
public sealed class PeakCase : IFlopCount
{
    public const int Iterations = 1 << 20;
    public const int Chains = 12;
    public double Flops => 2.0 * Chains * Vector512<float>.Count * Iterations;
    public override string ToString() => $"{Chains} chains x {Iterations} x {Vector512<float>.Count} lanes";
}

/// <summary>
/// fp32 FMA peak of one core: 12 independent 512-bit FMA chains (enough to cover latency x throughput),
/// no memory traffic. Its GFLOP/s is the ceiling the GEMM figures are compared with.
/// </summary>
[Config(typeof(GflopsConfig))]
public class FmaPeakBenchmarks
{
    public static IEnumerable<PeakCase> Cases => [new PeakCase()];

    [ParamsSource(nameof(Cases))]
    public PeakCase Case { get; set; } = null!;

    [Benchmark]
    public float Fma512() => Peak(PeakCase.Iterations);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Peak(int n)
    {
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        Vector512<float> a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        Vector512<float> x = Vector512.Create(0.999f), y = Vector512.Create(0.001f);
        for (int i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y); a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y); a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y); a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y); a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y); a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y); a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }
}
