using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The masked input gradient of recurrent dropout at the chapter LSTM's shapes (4 gates of 20 units): da += Σ_g
/// (dZ_g·R_gᵀ) ⊙ m_g for one step (32 rows, a mask per row) and for dX over 50 steps (1600 rows, a mask per 50 rows),
/// on gate tiles (one output vector of all gates per tile, da loaded and stored once) against the panel tiles
/// (<see cref="GateGemm.GateTiles"/> off: da updated gate by gate). Same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MaskedSumBenchmarks
{
    private const int Gates = 4, Units = 20;

    /// <summary>Rows, rows per mask row.</summary>
    [Params("32 rows, step", "1600 rows, dX")]
    public string Shape { get; set; } = "32 rows, step";

    private float[] _dz = [], _packed = [], _masks = [], _da = [];
    private int _rows, _rowsPerMask;

    [GlobalSetup]
    public void Setup()
    {
        (_rows, _rowsPerMask) = Shape.StartsWith("32") ? (32, 1) : (1600, 50);
        var rng = new System.Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        _dz = R(_rows * Gates * Units);
        var r = R(Units * Gates * Units);
        _packed = new float[GateGemm.PackedLength<float>(Gates, Units, Units)];
        GateGemm.Pack<float>(Gates, Units, Units, r, Gates * Units, true, _packed);
        _masks = Enumerable.Range(0, ((_rows - 1) / _rowsPerMask + 1) * Gates * Units).Select(_ => rng.NextDouble() < 0.2 ? 0f : 1.25f).ToArray();
        _da = new float[_rows * Units];
    }

    [Benchmark(Baseline = true, Description = "panel tiles (da per gate)")]
    public void PanelTiles() => Run(false);

    [Benchmark(Description = "gate tiles (da once)")]
    public void GateTiles() => Run(true);

    private void Run(bool gateTiles)
    {
        bool was = GateGemm.GateTiles;
        GateGemm.GateTiles = gateTiles;
        try { Product(); }
        finally { GateGemm.GateTiles = was; }
    }

    private void Product() =>
        GateGemm.ProductMaskedSum<float>(Gates, Gates, _rows, Units, Units, _dz, Gates * Units, Units, _packed, _masks, Gates * Units, _rowsPerMask, _da, Units);
}

/// <summary>
/// The LSTM step with recurrent dropout at the chapter's shape (32 rows of 20 units, rows strided by 50 steps): the
/// step kernel writing the next step's masked rows h ⊙ m_g itself (<see cref="LstmKernels.ForwardStepMaskedRows{T}"/>)
/// against the plain step followed by the masked-copy pass (<see cref="MaskedRowKernels.MultiplyGates{T}"/>). Same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class MaskedLstmStepBenchmarks
{
    private const int Rows = 32, Units = 20, Steps = 50, G4 = 4 * Units, KeptWidth = 2 * G4;

    private float[] _a = [], _bias = [], _cPrev = [], _c = [], _h = [], _masks = [], _hm = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new System.Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        // the step activates the gates in place: repeated calls run on activated values, bounded like any
        _a = R(Rows * Steps * G4);
        _bias = R(G4);
        _cPrev = R(Rows * Steps * Units);
        _c = new float[Rows * Steps * Units];
        _h = new float[Rows * Steps * Units];
        _masks = Enumerable.Range(0, Rows * G4).Select(_ => rng.NextDouble() < 0.2 ? 0f : 1.25f).ToArray();
        _hm = new float[Rows * Steps * KeptWidth];
    }

    [Benchmark(Baseline = true, Description = "step, then the masked copy")]
    public void StepThenCopy()
    {
        LstmKernels.ForwardStep<float>(Rows, Units, _a, Steps * G4, _bias, _cPrev, Steps * Units, _c, default, _h, Steps * Units);
        MaskedRowKernels.MultiplyGates<float>(_h, Steps * Units, Rows, Units, 4, _masks, G4, 1, _hm, Steps * KeptWidth, Units);
    }

    [Benchmark(Description = "step writing the masked rows")]
    public void StepWritingMaskedRows() =>
        LstmKernels.ForwardStepMaskedRows<float>(Rows, Units, _a, Steps * G4, _bias, _cPrev, Steps * Units, _c, default, _h, Steps * Units,
            _masks, G4, _hm, Steps * KeptWidth);
}
