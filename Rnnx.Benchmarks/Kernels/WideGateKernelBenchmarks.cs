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

    private GateStepOperands _operands = null!;

    [GlobalSetup]
    public void Setup() => _operands = new GateStepOperands(Kernel, Rows, Steps, Units);

    [Benchmark(Baseline = true, Description = "8-lane vectors")]
    public void Narrow()
    {
        RecurrentKernels.Wide16 = false;
        try { _operands.Run(); }
        finally { RecurrentKernels.Wide16 = true; }
    }

    [Benchmark(Description = "16-lane vectors")]
    public void Wide() => _operands.Run();
}
