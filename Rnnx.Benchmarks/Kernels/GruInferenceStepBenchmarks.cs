using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The reset_after GRU gate math of one time-major inference step over 256 series: <see cref="GruKernels.InferenceStepResetAfter"/>
/// (b_x added as x·W is loaded, only h written) against what the step ran before (baseline:
/// <see cref="RecurrentKernels.AddBiasRows{T}"/>, then <see cref="GruKernels.ForwardStepResetAfter{T}"/>, which also
/// writes the gate activations and m_h a backward pass would need). Same h.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*GruInferenceStepBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class GruInferenceStepBenchmarks
{
    private const int Rows = 256;

    /// <summary>GRU units U.</summary>
    [Params(64, 256)]
    public int Units { get; set; }

    private float[] _xw = [], _a = [], _m = [], _bx = [], _bh = [], _hPrev = [], _mh = [], _h = [];

    [GlobalSetup]
    public void Setup()
    {
        int g3 = 3 * Units;
        var rng = new System.Random(7);
        float[] Fill(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        _xw = Fill(Rows * g3);
        _a = new float[Rows * g3];
        _m = Fill(Rows * g3);
        _bx = Fill(g3);
        _bh = Fill(g3);
        _hPrev = Fill(Rows * Units);
        _mh = new float[Rows * Units];
        _h = new float[Rows * Units];
    }

    [Benchmark(Baseline = true, Description = "AddBiasRows + ForwardStepResetAfter")]
    public void TrainingStep()
    {
        int u = Units, g3 = 3 * u;
        _xw.CopyTo(_a, 0);
        RecurrentKernels.AddBiasRows<float>(_a, Rows, g3, g3, _bx);
        GruKernels.ForwardStepResetAfter<float>(Rows, u, _a, g3, _m, _bh, _hPrev, u, _mh, _h, u);
    }

    [Benchmark(Description = "InferenceStepResetAfter")]
    public void InferenceStep()
    {
        int u = Units, g3 = 3 * u;
        _xw.CopyTo(_a, 0);
        GruKernels.InferenceStepResetAfter(Rows, u, _a, g3, _bx, _m, _bh, _hPrev, u, _h, u);
    }
}
