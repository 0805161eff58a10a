using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The 4x3 GEMM tiles of 16-register machines on the products of a 20-unit LSTM's backward pass (n = 20: h·Rᵀ per step
/// and dX over all steps; n = 80: the weight gradient over all steps) against the tiles the engine used before,
/// reproduced as calls on column blocks of the same operands: [0, 8) (a 1-vector tile) and [8, 20) (a 2-vector tile
/// with an overlapped tail) for n = 20, blocks of 16 (2-vector tiles) for n = 80. Same products in the same order, so
/// the same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class NarrowGemmBenchmarks
{
    public static IEnumerable<GemmShape> Shapes =>
    [
        new("32x80*80x20", false, false, 32, 20, 80),        // dh = dZ·Rᵀ, one step (Rᵀ packed row-major)
        new("1600x80*80x20", false, false, 1600, 20, 80),    // dX = dZ·Wᵀ over 50 steps x 32
        new("(1600x20)^T*1600x80", true, false, 20, 80, 1600), // dR = Hᵀ·dZ over 50 steps x 32 (k blocks of 256)
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup() => (_a, _b, _c) = Shape.Operands();

    [Benchmark(Baseline = true, Description = "previous tiles (column blocks)")]
    public void SplitTiles()
    {
        GemmShape s = Shape;
        if (s.N == 20)
        {
            MatMulKernels.GemmUnpacked<float>(s.TransA, false, s.M, 8, s.K, _a, s.Lda, _b, s.N, _c, s.N, false);
            MatMulKernels.GemmUnpacked<float>(s.TransA, false, s.M, s.N - 8, s.K, _a, s.Lda, _b.AsSpan(8), s.N, _c.AsSpan(8), s.N, false);
            return;
        }
        for (int j = 0; j < s.N; j += 16)
            MatMulKernels.GemmUnpacked<float>(s.TransA, false, s.M, 16, s.K, _a, s.Lda, _b.AsSpan(j), s.N, _c.AsSpan(j), s.N, false);
    }

    [Benchmark(Description = "4x3 tiles (MatMulKernels.Gemm)")]
    public void Gemm()
    {
        GemmShape s = Shape;
        MatMulKernels.Gemm<float>(s.TransA, false, s.M, s.N, s.K, _a, s.Lda, _b, s.N, _c, s.N, false);
    }
}

/// <summary>
/// The fused LSTM, GRU and SimpleRNN step kernels of 20 units on 32 rows in the (batch, time) layout (rows strided by
/// 50 steps): all rows in one call, which evaluates the 4-unit tail of two rows in one 8-lane vector, against the
/// same kernel called one row at a time (the tail in a 4-lane vector per row, the kernels' previous form). Same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class GateKernelBenchmarks
{
    private const int Rows = 32, Units = 20, Steps = 50;

    /// <summary>The kernel.</summary>
    [Params("LSTM forward", "LSTM backward", "GRU forward", "SimpleRNN forward")]
    public string Kernel { get; set; } = "LSTM forward";

    private float[] _a = [], _a0 = [], _bias = [], _cPrev = [], _c = [], _tc = [], _h = [], _dH = [], _dhNext = [], _dcNext = [], _dz = [], _m = [], _mh = [];
    private int _lda, _ldh;

    [GlobalSetup]
    public void Setup()
    {
        int gates = Kernel.StartsWith("GRU") ? 3 : Kernel.StartsWith("LSTM") ? 4 : 1;
        _lda = Steps * gates * Units;
        _ldh = Steps * Units;
        var rng = new System.Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        _a0 = R(Rows * _lda);
        _a = _a0.ToArray();
        _bias = R(gates * Units);
        _cPrev = R(Rows * _ldh);
        _c = new float[Rows * _ldh];
        _tc = R(Rows * _ldh);
        _h = new float[Rows * _ldh];
        _dH = R(Rows * _ldh);
        _dhNext = R(Rows * Units);
        _dcNext = R(Rows * Units);
        _dz = new float[Rows * _lda];
        _m = R(Rows * gates * Units);
        _mh = new float[Rows * _ldh];
    }

    [Benchmark(Baseline = true, Description = "one row per call")]
    public void RowByRow()
    {
        for (int r = 0; r < Rows; r++) Run(r, 1);
    }

    [Benchmark(Description = "all rows (4-unit tails paired)")]
    public void AllRows() => Run(0, Rows);

    private void Run(int r0, int rows)
    {
        int u = Units, lda = _lda, ldh = _ldh;
        var a = _a.AsSpan(r0 * lda);
        switch (Kernel)
        {
            case "LSTM forward":
                // the gate activations overwrite a: restore the pre-activations (a copy of the rows' gate blocks)
                for (int r = r0; r < r0 + rows; r++) _a0.AsSpan(r * lda, 4 * u).CopyTo(_a.AsSpan(r * lda));
                LstmKernels.ForwardStep<float>(rows, u, a, lda, _bias, _cPrev.AsSpan(r0 * ldh), ldh, _c.AsSpan(r0 * ldh), _tc.AsSpan(r0 * ldh), _h.AsSpan(r0 * ldh), ldh);
                break;
            case "LSTM backward":
                LstmKernels.BackwardStep<float>(rows, u, _dH.AsSpan(r0 * ldh), ldh, default, _dhNext.AsSpan(r0 * u), _dcNext.AsSpan(r0 * u),
                    _a0.AsSpan(r0 * lda), lda, _tc.AsSpan(r0 * ldh), _cPrev.AsSpan(r0 * ldh), ldh, _dz.AsSpan(r0 * lda));
                break;
            case "GRU forward":
                for (int r = r0; r < r0 + rows; r++) _a0.AsSpan(r * lda, 3 * u).CopyTo(_a.AsSpan(r * lda));
                GruKernels.ForwardStepResetAfter<float>(rows, u, a, lda, _m.AsSpan(r0 * 3 * u), _bias, _cPrev.AsSpan(r0 * ldh), ldh,
                    _mh.AsSpan(r0 * ldh), _h.AsSpan(r0 * ldh), ldh);
                break;
            default:
                SimpleRnnKernels.ForwardStep<float>(CellActivation.Tanh, rows, u, _a0.AsSpan(r0 * lda), lda, _h.AsSpan(r0 * ldh), ldh);
                break;
        }
    }
}
