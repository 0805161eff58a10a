using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The fused gate kernels on one training step's rows (32 series of 50 steps in the (batch, time) layout, rows strided
/// by 50 steps) at 64 and 128 units, in 16-lane vectors where 512-bit vectors are accelerated against the 8-lane ones
/// they used before (<see cref="RecurrentKernels.Wide16"/> off). Their exp and divide chains, not the FP ports, bound
/// these kernels, so half the iterations take less time; the math is lane-wise, so the results are the same bits.
/// Without 512-bit vectors both rows run the same code.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class WideGateKernelBenchmarks
{
    private const int Rows = 32, Steps = 50;

    /// <summary>The kernel.</summary>
    [Params("LSTM forward", "LSTM backward", "LSTM inference", "GRU forward")]
    public string Kernel { get; set; } = "LSTM forward";

    /// <summary>Units U.</summary>
    [Params(64, 128)]
    public int Units { get; set; } = 64;

    private float[] _a = [], _a0 = [], _bias = [], _cPrev = [], _c = [], _tc = [], _h = [], _m = [], _mh = [];
    private float[] _dH = [], _dhNext = [], _dc0 = [], _dcNext = [], _dz = [];
    private int _lda, _ldh;

    [GlobalSetup]
    public void Setup()
    {
        int gates = Kernel.StartsWith("GRU") ? 3 : 4, u = Units;
        _lda = Steps * gates * u;
        _ldh = Steps * u;
        var rng = new System.Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        _a0 = R(Rows * _lda);
        _a = _a0.ToArray();
        _bias = R(gates * u);
        _cPrev = R(Rows * _ldh);
        _c = new float[Rows * _ldh];
        _tc = R(Rows * _ldh);
        _h = new float[Rows * _ldh];
        _m = R(Rows * gates * u);
        _mh = new float[Rows * _ldh];
        _dH = R(Rows * _ldh);
        _dhNext = R(Rows * u);
        _dc0 = R(Rows * u);
        _dcNext = _dc0.ToArray();
        _dz = new float[Rows * _lda];
    }

    [Benchmark(Baseline = true, Description = "8-lane vectors")]
    public void Narrow()
    {
        RecurrentKernels.Wide16 = false;
        try { Run(); }
        finally { RecurrentKernels.Wide16 = true; }
    }

    [Benchmark(Description = "16-lane vectors")]
    public void Wide() => Run();

    private void Run()
    {
        int u = Units, lda = _lda, ldh = _ldh;
        switch (Kernel)
        {
            case "LSTM forward":
                // the gate activations overwrite a: restore the pre-activations (a copy of the rows' gate blocks)
                for (int r = 0; r < Rows; r++) _a0.AsSpan(r * lda, 4 * u).CopyTo(_a.AsSpan(r * lda));
                LstmKernels.ForwardStep<float>(Rows, u, _a, lda, _bias, _cPrev, ldh, _c, _tc, _h, ldh);
                break;
            case "LSTM backward":
                // the gates of _a0 stand in for activations (the arithmetic does not depend on their values); dc is
                // updated in place, so it starts from the same values every call (no drift into subnormals)
                _dc0.CopyTo(_dcNext, 0);
                // tanh(c) taken from the cells, as the training step does without peepholes
                LstmKernels.BackwardStep<float>(Rows, u, _dH, ldh, default, _dhNext, _dcNext, _a0, lda, _tc, _cPrev, ldh, _dz, tanhOfTc: true);
                break;
            case "LSTM inference":
                for (int r = 0; r < Rows; r++) _a0.AsSpan(r * lda, 4 * u).CopyTo(_a.AsSpan(r * lda));
                LstmKernels.InferenceStep(Rows, u, _a, lda, _bias, _cPrev, ldh, _c, _h, ldh);
                break;
            default:
                for (int r = 0; r < Rows; r++) _a0.AsSpan(r * lda, 3 * u).CopyTo(_a.AsSpan(r * lda));
                GruKernels.ForwardStepResetAfter<float>(Rows, u, _a, lda, _m, _bias, _cPrev, ldh, _mh, _h, ldh);
                break;
        }
    }
}
