using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// One time step of LSTM inference on 256 series (the time-major path of a 256-series Predict), F = 1: the step as
/// <see cref="LstmBatchInference.Step{T}"/> runs it (row chunks whose gates stay in L1) against the baseline row, its
/// previous form (x_t·W and h·R over the whole B x 4U block, then the gate math over the block). Same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class LstmBatchStepBenchmarks
{
    private const int Rows = 256, Features = 1;

    /// <summary>LSTM units.</summary>
    [Params(64, 128)]
    public int Units { get; set; } = 64;

    private float[] _x = [], _w = [], _packedW = [], _packedR = [], _bias = [], _hPrev = [], _cPrev = [], _c = [], _h = [], _block = [], _scratch = [], _out = [];

    [GlobalSetup]
    public void Setup()
    {
        int u = Units, g4 = 4 * u;
        var rng = new System.Random(42);
        float[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        _x = R(Rows * Features, 1);
        _packedW = new float[PackedGemm.PackedLength<float>(Features, g4)];
        _w = R(Features * g4, 0.5);
        PackedGemm.Pack<float>(false, Features, g4, _w, g4, _packedW);
        _packedR = new float[PackedGemm.PackedLength<float>(u, g4)];
        PackedGemm.Pack<float>(false, u, g4, R(u * g4, 1 / Math.Sqrt(u)), g4, _packedR);
        _bias = R(g4, 0.1);
        _hPrev = R(Rows * u, 1);
        _cPrev = R(Rows * u, 1);
        _c = new float[Rows * u];
        _h = new float[Rows * u];
        _out = new float[Rows * u];
        _block = new float[Rows * g4];
        _scratch = new float[LstmBatchInference.ScratchLength<float>(Rows, u)];
    }

    /// <summary>The previous form of the step: whole-block products, then the gate math.</summary>
    [Benchmark(Baseline = true, Description = "step: whole block")]
    public void WholeBlock()
    {
        int u = Units, g4 = 4 * u;
        PackedGemm.Gemm<float>(false, Rows, g4, Features, _x, Features, _packedW, _block, g4, false);
        PackedGemm.Gemm<float>(false, Rows, g4, u, _hPrev, u, _packedR, _block, g4, true);
        LstmKernels.InferenceStep(Rows, u, _block, g4, _bias, _cPrev, u, _c, _h, u);
    }

    /// <summary>The step as the LSTM's time-major inference runs it.</summary>
    [Benchmark(Description = "step: row chunks")]
    public void Chunked() =>
        LstmBatchInference.Step<float>(Rows, Units, Features, _x, Features, _w, _packedW, _packedR, _bias, _hPrev, Units, _cPrev, _c, _out, Units, _scratch);

    /// <summary>
    /// <c>rnnx-bench lstmstep [--samples N] [--ms T]</c>: the rows measured interleaved (baseline, then the changed
    /// kernel, N times; medians and best samples), so that a shared machine's load drifts hit both alike; then the
    /// rows of <see cref="PackedGemmSumBenchmarks"/>.
    /// </summary>
    public static int RunInterleaved(string[] args)
    {
        if (NarrowKernels.StartInterleaved("lstmstep", args) is not { } options) return 2;
        var (samples, ms) = options;
        foreach (int units in new[] { 64, 128 })
        {
            var b = new LstmBatchStepBenchmarks { Units = units };
            b.Setup();
            NarrowKernels.Row($"LSTM step, 256 rows, {units} units", b.WholeBlock, b.Chunked, samples, ms);
        }
        foreach (string shape in new[] { "12x512 k128+128", "12x512 k32+128", "24x256 k64+64" })
        {
            var g = new PackedGemmSumBenchmarks { Shape = shape };
            g.Setup();
            NarrowKernels.Row($"x·W + h·R, {shape}", g.TwoPasses, g.TileByTile, samples, ms);
        }
        Console.WriteLine($"load average after: {GemmScale.LoadAverage()}");
        return 0;
    }
}
