using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// One step's products of a 20-unit LSTM with recurrent dropout on a 16-row training shard (rows of the (batch, time)
/// layout, 50 steps apart): the forward (h ⊙ m_g)·R_g into the gate rows and the input gradient Σ_g (dZ_g·R_gᵀ) ⊙ m_g,
/// on <see cref="SmallGateGemm"/> against the padded gate layout of <see cref="GateGemm"/> that ran them before (the
/// baseline rows), and the plain step's unmasked products (h·R, dZ·Rᵀ) for scale. The masked rows are given (the
/// masked copy is a separate pass). Same bits in each pair.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*MaskedStepProductBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkDotNet.Configs.BenchmarkLogicalGroupRule.ByCategory)]
public class MaskedStepProductBenchmarks
{
    private const int Rows = 16, Units = 20, Gates = 4, Steps = 50, G4 = Gates * Units, LdA = Steps * G4, LdH = Steps * Units;
    private float[] _r = [], _h = [], _gates = [], _dz = [], _masks = [], _dh = [];
    private float[] _rowMajor = [], _transposed = [], _padded = [], _paddedT = [], _packed = [], _packedT = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new System.Random(1);
        float[] Rand(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() - 0.5); return v; }
        _r = Rand(Units * G4);
        _h = Rand(Rows * LdH);
        _gates = Rand(Rows * LdA);
        _dz = Rand(Rows * LdA);
        _masks = Rand(Rows * G4);
        for (int i = 0; i < _masks.Length; i++) _masks[i] = i % 5 == 0 ? 0f : 1.25f;
        _dh = new float[Rows * Units];
        _rowMajor = (float[])_r.Clone();
        _transposed = new float[G4 * Units];
        for (int q = 0; q < Units; q++)
            for (int c = 0; c < G4; c++) _transposed[c * Units + q] = _r[q * G4 + c];
        _padded = new float[GateGemm.PackedLength<float>(Gates, Units, Units)];
        GateGemm.Pack<float>(Gates, Units, Units, _r, G4, false, _padded);
        _paddedT = new float[GateGemm.PackedLength<float>(Gates, Units, Units)];
        GateGemm.Pack<float>(Gates, Units, Units, _r, G4, true, _paddedT);
        _packed = new float[PackedGemm.PackedLength<float>(Units, G4)];
        PackedGemm.Pack<float>(false, Units, G4, _r, G4, _packed);
        _packedT = new float[PackedGemm.PackedLength<float>(G4, Units)];
        PackedGemm.Pack<float>(true, G4, Units, _r, G4, _packedT);
    }

    // the masked rows h ⊙ m_g of one step, gate blocks side by side (as the op keeps them): _h's rows stand in for them

    [Benchmark(Baseline = true, Description = "forward, padded gate layout (GateGemm)")]
    [BenchmarkCategory("forward")]
    public void ForwardPadded() => GateGemm.Multiply<float>(Gates, Gates, Rows, Units, Units, _h, LdH, Units, _padded, _gates, LdA, true);

    [Benchmark(Description = "forward, SmallGateGemm")]
    [BenchmarkCategory("forward")]
    public void ForwardSmall() => SmallGateGemm.Multiply<float>(Gates, Rows, Units, Units, _h, LdH, Units, _rowMajor, G4, _gates, LdA, true);

    [Benchmark(Description = "forward, unmasked h·R (PackedGemm)")]
    [BenchmarkCategory("forward")]
    public void ForwardPlain() => PackedGemm.Gemm<float>(false, Rows, G4, Units, _h, LdH, _packed, _gates, LdA, true);

    [Benchmark(Baseline = true, Description = "input gradient, padded gate layout (GateGemm)")]
    [BenchmarkCategory("input gradient")]
    public void InputGradPadded()
    {
        _dh.AsSpan().Clear();
        GateGemm.ProductMaskedSum<float>(Gates, Gates, Rows, Units, Units, _dz, LdA, Units, _paddedT, _masks, G4, 1, _dh, Units);
    }

    [Benchmark(Description = "input gradient, SmallGateGemm")]
    [BenchmarkCategory("input gradient")]
    public void InputGradSmall()
    {
        _dh.AsSpan().Clear();
        SmallGateGemm.MaskedInputGrad<float>(Gates, Rows, Units, Units, _dz, LdA, _transposed, Units, _masks, G4, 1, _dh, Units);
    }

    [Benchmark(Description = "input gradient, unmasked dZ·Rᵀ (PackedGemm)")]
    [BenchmarkCategory("input gradient")]
    public void InputGradPlain() => PackedGemm.Gemm<float>(false, Rows, Units, G4, _dz, LdA, _packedT, _dh, Units, false);
}
